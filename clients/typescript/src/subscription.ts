// A WebSocket subscription (GET /v1/ws; frames in generated/websocket.ts) that survives dropped
// connections: it subscribes, hands each event to a handler in order, acknowledges it when the
// subscription is `ack: 'client'`, and after a drop reconnects with backoff and resumes from the
// last sequence handled (`from: {seq: last + 1}`), so no event is skipped or handled twice.
// The standard WebSocket and fetch (browsers, Node 22+); on Node 20, which has no global WebSocket,
// the `ws` package (a dependency of this package) is loaded instead. No NATS.
import { createGatewayClient, GatewayProblemError } from './gateway-client.ts';
import type {
  ErrorCode,
  ErrorFrame,
  EventEnvelope,
  EventFrame,
  FieldError,
  StartPosition,
  SubscribedFrame,
  SubscribeFrame,
} from './generated/websocket.ts';

export interface SubscriptionOptions {
  /** The gateway, e.g. `https://events.example.com` (its WebSocket is `wss://…/v1/ws`). */
  baseUrl: string;
  /**
   * Server side: an API key with the `subscribe` scope. Each connection trades it for a single-use
   * ticket (`POST /v1/ws-tickets`), so the key never appears in a URL.
   */
  apiKey?: string;
  /** Browsers: a fresh ticket for every connection, from your backend (which holds the key). */
  getTicket?: () => Promise<string>;
  /** Type patterns: `order.created`, `order.*`, `*`. */
  types: string[];
  /** Where the first connection starts (default `'new'`); reconnects resume after the last event handled. */
  from?: StartPosition;
  /** `'client'`: each event is acked once `onEvent` resolved, nak'ed when it throws (at-least-once). */
  ack?: 'auto' | 'client';
  /** Consumer group: connections with the same group share the events and one durable position. */
  group?: string;
  /** Content filter (docs/content-filter.md). */
  filter?: Record<string, unknown>;
  /** Subscription id on the connection (default `'sub'`). */
  id?: string;
  /** Called once per event, in order; the next event waits until it resolves. */
  onEvent: (event: EventEnvelope, frame: EventFrame) => void | Promise<void>;
  /** Each (re)subscription, e.g. to see `start_seq` or `truncated`. */
  onSubscribed?: (frame: SubscribedFrame) => void;
  /** Problems that do not end the subscription: a failing handler, a lost connection about to be retried. */
  onError?: (err: Error) => void;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /**
   * Backpressure: when more than this many received events wait for `onEvent` (default 1000), the
   * helper closes the connection, lets the handler catch up, and resumes from the last event handled,
   * so a slow handler never buffers without bound. (With `ack: 'client'` the gateway already stops
   * sending at its in-flight limit.)
   */
  maxQueued?: number;
  /** A WebSocket constructor: defaults to the global one, else the `ws` package (Node 20). */
  WebSocket?: new (
    url: string,
  ) => object;
  fetch?: typeof globalThis.fetch;
}

/** An error frame from the gateway; `fatal` when it ended the subscription. */
export class SubscriptionError extends Error {
  readonly code: ErrorCode | undefined;
  readonly errors: FieldError[];
  readonly fatal: boolean;
  constructor(message: string, opts: { code?: ErrorCode; errors?: FieldError[]; fatal: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'SubscriptionError';
    this.code = opts.code;
    this.errors = opts.errors ?? [];
    this.fatal = opts.fatal;
  }
}

export interface Subscription {
  /** Resolves with the first `subscribed` frame; rejects when the subscription failed before it. */
  readonly ready: Promise<SubscribedFrame>;
  /** Resolves when the subscription ended: with undefined after `close()`, with the error that ended it otherwise. */
  readonly closed: Promise<Error | undefined>;
  /** The highest sequence handled so far. */
  readonly lastSeq: number | undefined;
  /** How many connections were opened (1 + reconnects). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Codes after which subscribing again can succeed: the bus or the gateway was briefly unwell. */
const RETRYABLE: ReadonlySet<string> = new Set<ErrorCode>([
  'GW_NATS_UNAVAILABLE',
  'GW_PUBLISH_TIMEOUT',
  'GW_NOT_READY',
  'GW_SHUTTING_DOWN',
  'GW_INTERNAL',
  'GW_UNKNOWN_SUBSCRIPTION',
]);

/** What the helper uses of a WebSocket: the standard API, which the `ws` package implements too. */
interface Socket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'close', listener: () => void): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
}
type SocketConstructor = new (url: string) => Socket;

let wsPackage: Promise<SocketConstructor> | undefined;
/** The global WebSocket, else the `ws` package's (loaded once, only where there is no global one). */
function defaultWebSocket(): Promise<SocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (global) return Promise.resolve(global as SocketConstructor);
  wsPackage ??= import('ws').then((mod) => (mod.WebSocket ?? mod.default) as unknown as SocketConstructor);
  return wsPackage;
}

type ServerFrame = SubscribedFrame | EventFrame | ErrorFrame | { op: 'unsubscribed'; sub: string };

export function subscribe(options: SubscriptionOptions): Subscription {
  return new GatewaySubscription(options);
}

class GatewaySubscription implements Subscription {
  readonly ready: Promise<SubscribedFrame>;
  readonly closed: Promise<Error | undefined>;
  #resolveReady!: (frame: SubscribedFrame) => void;
  #rejectReady!: (err: Error) => void;
  #resolveClosed!: (err: Error | undefined) => void;
  readonly #opts: SubscriptionOptions;
  readonly #id: string;
  #socket: Socket | undefined;
  /** Events received and not yet handled (backpressure). */
  #queued = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #attempt = 0;
  #connections = 0;
  #lastSeq: number | undefined;
  /** Client-ack events handed out and not yet acked: a resume starts at the lowest. */
  readonly #unacked = new Set<number>();
  /** Events are handled one after another on this chain; a reconnect waits for it to drain. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: SubscriptionOptions) {
    if (!options.apiKey && !options.getTicket) throw new TypeError('subscribe() needs apiKey or getTicket');
    this.#opts = options;
    this.#id = options.id ?? 'sub';
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A caller that only awaits `closed` must not get an unhandled rejection from `ready`.
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    void this.#connect();
  }

  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }

  get connections(): number {
    return this.#connections;
  }

  async close(): Promise<void> {
    if (this.#stopped) return void (await this.closed);
    this.#end(undefined);
    await this.closed;
  }

  #end(err: Error | undefined): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = undefined;
    let socketClosed = Promise.resolve();
    if (socket && socket.readyState <= 1) {
      // `closed` settles once the close handshake is done (or after 5 s without an answer).
      socketClosed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        socket.addEventListener('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      socket.close(1000, 'client closed');
    }
    this.#rejectReady(err ?? new Error('subscription closed before it was active'));
    if (err) this.#opts.onError?.(err);
    void Promise.all([this.#chain, socketClosed]).then(() => this.#resolveClosed(err));
  }

  async #ticket(): Promise<string> {
    if (this.#opts.getTicket) return this.#opts.getTicket();
    const client = createGatewayClient({
      baseUrl: this.#opts.baseUrl,
      apiKey: this.#opts.apiKey,
      ...(this.#opts.fetch ? { fetch: this.#opts.fetch } : {}),
    });
    const result = await client.api.POST('/v1/ws-tickets');
    if (!result.data) throw GatewayProblemError.from(result.error, result.response);
    return result.data.ticket;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let ticket: string;
    let WebSocketImpl: SocketConstructor;
    try {
      WebSocketImpl = this.#opts.WebSocket ? (this.#opts.WebSocket as unknown as SocketConstructor) : await defaultWebSocket();
    } catch (err) {
      return this.#end(
        new SubscriptionError('No WebSocket: install the `ws` package or pass options.WebSocket', { fatal: true, cause: err }),
      );
    }
    try {
      ticket = await this.#ticket();
    } catch (err) {
      // A refused key or ticket will be refused again; anything else (network, 5xx) may pass later.
      if (err instanceof GatewayProblemError && err.status < 500) return this.#end(err);
      return this.#retry(err as Error);
    }
    if (this.#stopped) return;
    const url = new URL('/v1/ws', this.#opts.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    const socket = new WebSocketImpl(url.href);
    this.#socket = socket;
    this.#connections++;
    let subscribed = false;
    socket.onopen = () => socket.send(JSON.stringify(this.#subscribeFrame()));
    socket.onmessage = (message) => {
      if (this.#socket !== socket) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(message.data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.op === 'subscribed' && frame.sub === this.#id) {
        subscribed = true;
        this.#attempt = 0;
        this.#opts.onSubscribed?.(frame);
        this.#resolveReady(frame);
      } else if (frame.op === 'event' && frame.sub === this.#id) {
        this.#handle(socket, frame);
      } else if (frame.op === 'error' && (frame.sub === undefined || frame.sub === this.#id)) {
        this.#onErrorFrame(socket, frame, subscribed);
      }
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#retry(new Error(`connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
    };
  }

  #subscribeFrame(): SubscribeFrame {
    const { types, ack, group, filter } = this.#opts;
    const frame: SubscribeFrame = { op: 'subscribe', sub: this.#id, types };
    if (ack) frame.ack = ack;
    if (group) frame.group = group;
    if (filter) frame.filter = filter;
    const unacked = this.#unacked.size > 0 ? Math.min(...this.#unacked) : undefined;
    if (unacked !== undefined) frame.from = { seq: unacked };
    else if (this.#lastSeq !== undefined) frame.from = { seq: this.#lastSeq + 1 };
    else if (this.#opts.from !== undefined) frame.from = this.#opts.from;
    return frame;
  }

  #handle(socket: Socket, frame: EventFrame): void {
    const clientAck = this.#opts.ack === 'client';
    if (clientAck) this.#unacked.add(frame.seq);
    this.#queued++;
    if (this.#queued > (this.#opts.maxQueued ?? 1000) && this.#socket === socket) {
      // Backpressure: stop reading, drain, then resume after the last event handled.
      this.#socket = undefined;
      socket.close(1000, 'client busy');
      void this.#chain.then(() => this.#connect());
    }
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#handleOne(socket, frame, clientAck);
      } finally {
        this.#queued--;
      }
    });
  }

  async #handleOne(socket: Socket, frame: EventFrame, clientAck: boolean): Promise<void> {
    // Auto-ack delivery is in order: anything at or below the last handled seq is a replayed duplicate.
    if (!clientAck && this.#lastSeq !== undefined && frame.seq <= this.#lastSeq) return;
    try {
      // The client subscribes without `format`: every event is an envelope.
      await this.#opts.onEvent(frame.event as EventEnvelope, frame);
    } catch (err) {
      this.#opts.onError?.(err as Error);
      if (clientAck) {
        if (socket.readyState === 1) socket.send(JSON.stringify({ op: 'nak', sub: this.#id, seq: frame.seq }));
        return;
      }
    }
    if (clientAck) {
      // On a closed socket the event stays unacked: the gateway delivers it again after a resume.
      if (socket.readyState !== 1) return;
      socket.send(JSON.stringify({ op: 'ack', sub: this.#id, seq: frame.seq }));
      this.#unacked.delete(frame.seq);
    }
    this.#lastSeq = Math.max(this.#lastSeq ?? 0, frame.seq);
  }

  #onErrorFrame(socket: Socket, frame: ErrorFrame, subscribed: boolean): void {
    // An ack that came too late (the event is being redelivered anyway) does not end anything.
    if (subscribed && frame.code === 'GW_NOT_IN_FLIGHT') {
      this.#opts.onError?.(new SubscriptionError(frame.message, { code: frame.code, fatal: false }));
      return;
    }
    if (RETRYABLE.has(frame.code)) {
      // Resubscribe on a fresh connection, resuming where handling stopped.
      this.#opts.onError?.(new SubscriptionError(frame.message, { code: frame.code, errors: frame.errors, fatal: false }));
      socket.close(1000, 'resubscribing');
      return;
    }
    this.#end(new SubscriptionError(frame.message, { code: frame.code, errors: frame.errors, fatal: true }));
  }

  #retry(err: Error): void {
    if (this.#stopped) return;
    const { initialDelayMs = 250, maxDelayMs = 30_000, maxAttempts = Number.POSITIVE_INFINITY } = this.#opts.reconnect ?? {};
    this.#attempt++;
    if (this.#attempt > maxAttempts) {
      this.#end(new SubscriptionError(`gave up after ${maxAttempts} attempts: ${err.message}`, { fatal: true, cause: err }));
      return;
    }
    this.#opts.onError?.(err);
    // Exponential backoff with jitter, so a restarted gateway is not hit by every client at once.
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.#attempt - 1)) * (0.5 + Math.random() / 2);
    this.#timer = setTimeout(() => {
      void this.#chain.then(() => this.#connect());
    }, delay);
  }
}
