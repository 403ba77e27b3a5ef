// A live tail over Server-Sent Events (GET /v1/events/stream, docs/sse.md) that survives dropped
// connections: it reads the stream with fetch (a ReadableStream, so it works in browsers, Node 20+,
// Deno and Bun, and can send `Authorization`, which EventSource cannot), hands each event to a
// handler in order, and after a drop or an `event: close` reconnects with backoff sending
// `Last-Event-ID`, so no event is skipped or handled twice. Backpressure is the stream's own: the
// next record is not read until the handler resolved. No NATS, no dependencies.
import { GatewayProblemError } from './gateway-client.ts';
import type { EventEnvelope, StreamClose } from './generated/openapi.ts';

export interface TailOptions {
  /** The gateway, e.g. `https://events.example.com`. */
  baseUrl: string;
  /** An API key with the `subscribe` scope, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Browsers: a fresh single-use ticket for every connection, from your backend (which holds the key). */
  getTicket?: () => Promise<string>;
  /** Type patterns: `order.created`, `order.*`, `*` (default: every type). */
  types?: string[];
  /** Content filter (docs/content-filter.md). */
  filter?: Record<string, unknown>;
  /** Resume after this event id (the last one handled before); default: only new events. */
  lastEventId?: number;
  /** Start at this stream sequence (inclusive) instead; `lastEventId` wins when both are given. */
  fromSeq?: number;
  /** Called once per event, in order; the next event is not read until it resolves. */
  onEvent: (event: EventEnvelope, meta: { id: number; type: string }) => void | Promise<void>;
  /** Each connection that answered 200 (1 + reconnects). */
  onOpen?: (info: { connection: number; startSeq: number | undefined; truncated: boolean }) => void;
  /** The gateway ended a stream (`event: close`: shutting down, slow consumer, error); the tail reconnects. */
  onClose?: (close: StreamClose) => void;
  /** Problems that do not end the tail: a failing handler, a lost connection about to be retried. */
  onError?: (err: Error) => void;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /**
   * A connection that delivers nothing (not even the gateway's heartbeat, every 15 s by default)
   * for this long is taken for dead and replaced (default 45 000 ms).
   */
  idleTimeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

export interface Tail {
  /** Resolves once the first connection answered 200; rejects when the tail failed before that. */
  readonly ready: Promise<void>;
  /** Resolves when the tail ended: undefined after `close()`, else the error that ended it. */
  readonly closed: Promise<Error | undefined>;
  /** The id (stream sequence) of the last event handled. */
  readonly lastEventId: number | undefined;
  /** How many connections were opened (1 + reconnects). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Follows the tenant's events over SSE until closed; see TailOptions. */
export function tailEvents(options: TailOptions): Tail {
  return new EventTail(options);
}

/** One parsed SSE record. */
interface SseRecord {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Splits an SSE byte stream into records (the WHATWG event-stream rules: lines end in CRLF, LF or
 * CR; `:` starts a comment; a blank line dispatches; `data` lines join with LF).
 */
export async function* sseRecords(body: ReadableStream<Uint8Array>, signal?: AbortSignal, onData?: () => void): AsyncGenerator<SseRecord> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      if (signal?.aborted) return;
      const { value, done } = await reader.read();
      if (done) return;
      onData?.();
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end may be the first half of a CRLF: wait for more.
        if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0 || id !== undefined) yield { id, event: event || 'message', data: data.join('\n') };
          id = undefined;
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = text;
        else if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

class EventTail implements Tail {
  readonly ready: Promise<void>;
  readonly closed: Promise<Error | undefined>;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #resolveClosed!: (err: Error | undefined) => void;
  readonly #opts: TailOptions;
  readonly #abort = new AbortController();
  #lastEventId: number | undefined;
  #connections = 0;
  #attempt = 0;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(options: TailOptions) {
    if (!options.apiKey && !options.getTicket) throw new TypeError('tailEvents() needs apiKey or getTicket');
    this.#opts = options;
    this.#lastEventId = options.lastEventId;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    void this.#run().then(
      (err) => this.#finish(err),
      (err: unknown) => this.#finish(err as Error),
    );
  }

  get lastEventId(): number | undefined {
    return this.#lastEventId;
  }

  get connections(): number {
    return this.#connections;
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#wake?.();
    await this.closed;
  }

  #finish(err: Error | undefined): void {
    this.#stopped = true;
    this.#rejectReady(err ?? new Error('tail closed before it was open'));
    if (err) this.#opts.onError?.(err);
    this.#resolveClosed(err);
  }

  #url(ticket: string | undefined): string {
    const url = new URL('/v1/events/stream', this.#opts.baseUrl);
    if (this.#opts.types?.length) url.searchParams.set('types', this.#opts.types.join(','));
    if (this.#opts.filter) url.searchParams.set('filter', JSON.stringify(this.#opts.filter));
    if (this.#lastEventId === undefined && this.#opts.fromSeq !== undefined) url.searchParams.set('from_seq', String(this.#opts.fromSeq));
    if (ticket !== undefined) url.searchParams.set('ticket', ticket);
    return url.href;
  }

  /** Connects, reads, reconnects; resolves with the error that ended the tail, undefined when closed. */
  async #run(): Promise<Error | undefined> {
    const fetchImpl = this.#opts.fetch ?? globalThis.fetch;
    while (!this.#stopped) {
      let failure: Error;
      // One connection's own abort: the tail's close(), or no data for idleTimeoutMs.
      const connection = new AbortController();
      const stopConnection = () => connection.abort();
      this.#abort.signal.addEventListener('abort', stopConnection);
      const idleMs = this.#opts.idleTimeoutMs ?? 45_000;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const alive = () => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
      };
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (this.#opts.apiKey) headers.authorization = `Bearer ${this.#opts.apiKey}`;
        if (this.#lastEventId !== undefined) headers['last-event-id'] = String(this.#lastEventId);
        const ticket = this.#opts.apiKey ? undefined : await this.#opts.getTicket?.();
        alive();
        const res = await fetchImpl(this.#url(ticket), { headers, signal: connection.signal });
        if (!res.ok || !res.body) {
          const body: unknown = await res.json().catch(() => undefined);
          const err = GatewayProblemError.from(body, res);
          // A refused key, ticket or selection is refused again; a 5xx or 429 may pass later.
          if (res.status < 500 && res.status !== 429) return err;
          throw err;
        }
        this.#connections++;
        const startSeq = Number(res.headers.get('x-start-seq'));
        this.#opts.onOpen?.({
          connection: this.#connections,
          startSeq: Number.isFinite(startSeq) && startSeq > 0 ? startSeq : undefined,
          truncated: res.headers.get('x-stream-truncated') === 'true',
        });
        this.#resolveReady();
        let handled = 0;
        for await (const record of sseRecords(res.body, connection.signal, alive)) {
          if (record.event === 'close' && record.id === undefined) {
            this.#opts.onClose?.(JSON.parse(record.data) as StreamClose);
            continue;
          }
          if (record.id === undefined) continue;
          const id = Number(record.id);
          // In order on one stream; anything at or below the last handled id is a duplicate.
          if (this.#lastEventId !== undefined && id <= this.#lastEventId) continue;
          try {
            await this.#opts.onEvent(JSON.parse(record.data) as EventEnvelope, { id, type: record.event });
          } catch (err) {
            this.#opts.onError?.(err as Error);
          }
          this.#lastEventId = id;
          alive(); // a slow handler is not a dead connection
          if (++handled === 1) this.#attempt = 0;
        }
        failure = new Error('the event stream ended');
      } catch (err) {
        if (this.#stopped) return undefined;
        failure = connection.signal.aborted && connection.signal.reason instanceof Error ? connection.signal.reason : (err as Error);
      } finally {
        clearTimeout(idle);
        this.#abort.signal.removeEventListener('abort', stopConnection);
      }
      if (this.#stopped) return undefined;
      const { initialDelayMs = 250, maxDelayMs = 30_000, maxAttempts = Number.POSITIVE_INFINITY } = this.#opts.reconnect ?? {};
      this.#attempt++;
      if (this.#attempt > maxAttempts) return new Error(`gave up after ${maxAttempts} attempts: ${failure.message}`, { cause: failure });
      this.#opts.onError?.(failure);
      // Exponential backoff with jitter, so a restarted gateway is not hit by every client at once.
      const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.#attempt - 1)) * (0.5 + Math.random() / 2);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return undefined;
  }
}
