// One WebSocket connection: reads client frames (size and rate limited, each validated against its
// schema in schemas/websocket.ts), drives the connection's subscriptions (each a delivery of
// src/delivery/ with the WebSocket sink, opened by subscribe.ts), and writes frames with bounded
// buffering. A bad frame gets an error frame and the connection stays open; only protocol
// abuse closes it (CLOSE_CODES). Everything the connection created is removed when it goes.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { isSubscriptionId } from '../../schemas/identifiers.ts';
import {
  type AckFrame,
  CLIENT_FRAMES,
  CLOSE_CODES,
  type ClientFrame,
  type ErrorFrame,
  type NakFrame,
  SETTLE_FIELDS,
  type SubscribeFrame,
} from '../../schemas/websocket.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Bus } from '../bus/index.ts';
import type { Config } from '../config.ts';
import type { Delivery } from '../delivery/engine.ts';
import type { WebSocketTarget } from '../delivery/sinks/websocket.ts';
import { GatewayError } from '../errors.ts';
import { jsonDepthExceeds } from '../json-depth.ts';
import { admitDurableConsumer } from '../quotas/durable-consumers.ts';
import type { Lease, Quotas } from '../quotas/quotas.ts';
import { bodyAjv, fieldErrors, type ValidateFunction } from '../validation.ts';
import { type OpenedSubscription, openSubscription } from './subscribe.ts';

const validators = Object.fromEntries(Object.entries(CLIENT_FRAMES).map(([op, schema]) => [op, bodyAjv.compile(schema)])) as Record<
  keyof typeof CLIENT_FRAMES,
  ValidateFunction
>;

export type WsConfig = Pick<
  Config,
  | 'BODY_MAX_DEPTH'
  | 'WS_MAX_SUBSCRIPTIONS'
  | 'WS_MAX_FRAME_BYTES'
  | 'WS_MAX_FRAMES_PER_SECOND'
  | 'WS_MAX_ACKS_PER_SECOND'
  | 'WS_SEND_BUFFER_BYTES'
  | 'WS_MAX_IN_FLIGHT'
>;

export interface ConnectionContext {
  bus: Bus;
  config: WsConfig;
  /** The tenant's subscription and durable-consumer quotas (none when undefined). */
  quotas?: Quotas | undefined;
}

/** How long a closing client may take to answer the close handshake before it is cut off. */
const CLOSE_GRACE_MS = 5000;
/** A closing client still reading what was queued before the close frame gets this many graces at most. */
const MAX_CLOSE_GRACE_ROUNDS = 12;
/** ws's options for a text frame whatever the data's type (a Buffer would otherwise go out binary). */
const TEXT = { binary: false } as const;

/** Frames gathered in one cork are sent once they reach this many bytes. */
const CORK_FLUSH_BYTES = 64 * 1024;

/**
 * The connections holding corked frames, all uncorked by one setImmediate: after the event loop's
 * I/O phase, so everything the live feed read from NATS in that phase (often several socket reads)
 * leaves each connection in one writev, and one callback serves every connection instead of one
 * per connection per event. Frames wait at most the rest of that loop turn.
 */
let corked = new Set<{ uncork(): void }>();
let flushScheduled = false;

function flushCorked(): void {
  flushScheduled = false;
  const due = corked;
  corked = new Set();
  for (const c of due) c.uncork();
}
/** How often a paused subscription looks whether the client caught up. */
const CATCH_UP_POLL_MS = 20;

export class WsConnection implements WebSocketTarget {
  readonly tenant: string;
  readonly log: Logger;
  /** Cleared by each ping round, set by the pong: a connection that stays false is dead. */
  alive = true;
  readonly #socket: WebSocket;
  readonly #ctx: ConnectionContext;
  /** Subscriptions by id; a pending subscribe holds its id with `undefined`. */
  readonly #subs = new Map<string, Delivery | undefined>();
  /** Each subscription's place in the tenant's subscription quota, released when it ends. */
  readonly #leases = new Map<string, Lease>();
  #windowStart = 0;
  /** Frames in the current one-second window that count against WS_MAX_FRAMES_PER_SECOND. */
  #framesInWindow = 0;
  /** Ack and nak frames in the window: their own, larger budget (WS_MAX_ACKS_PER_SECOND). */
  #acksInWindow = 0;
  #closed = false;
  #corked = false;
  /** For the shared flush: uncorks this connection (a no-op once it was uncorked meanwhile). */
  readonly #flushable = { uncork: () => this.#uncork() };

  constructor(socket: WebSocket, principal: Principal, ctx: ConnectionContext, log: Logger) {
    this.#socket = socket;
    this.tenant = principal.tenantId;
    this.#ctx = ctx;
    this.log = log;
    socket.on('message', (data, isBinary) => this.#onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
  }

  /** Called every WS_PING_INTERVAL: a connection that did not answer the last ping is dropped. */
  heartbeat(): void {
    if (this.#closed) return;
    if (!this.alive) {
      // A ping still queued behind events the client has not read could not be answered: that is a
      // slow consumer (told so with 4010), not a dead one.
      if (this.#socket.bufferedAmount > 0) {
        this.closeSlow('slow consumer: events unread for a whole WS_PING_INTERVAL');
        return;
      }
      this.log.info('websocket missed a pong; dropping it');
      this.#closed = true;
      this.#socket.terminate();
      return;
    }
    this.alive = false;
    this.#socket.ping();
  }

  get subscriptionCount(): number {
    return this.#subs.size;
  }

  /** Adds this connection's running subscriptions to `into`, by delivery kind (metrics). */
  countSubscriptions(into: Map<string, number>): void {
    for (const d of this.#subs.values()) {
      if (d === undefined) continue; // still being set up
      const kind = d.kind ?? 'other';
      into.set(kind, (into.get(kind) ?? 0) + 1);
    }
  }

  // ---- client → gateway

  #onMessage(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    if (this.#closed) return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (bytes.length > this.#ctx.config.WS_MAX_FRAME_BYTES) {
      this.close(CLOSE_CODES.FRAME_TOO_LARGE.code, 'frame too large');
      return;
    }
    let frame: ClientFrame;
    try {
      frame = this.#parse(bytes, isBinary);
    } catch (err) {
      if (!this.#count(false)) return;
      const refused = err as GatewayError & { sub?: string };
      this.#sendError(refused, refused.sub);
      return;
    }
    // Acks and naks have their own budget, so an at-least-once client can ack every event at
    // thousands a second; one that is refused (an error frame) counts against the general budget too.
    const settling = frame.op === 'ack' || frame.op === 'nak';
    if (!this.#count(settling)) return;
    this.#dispatch(frame).catch((err: unknown) => {
      if (settling && !this.#count(false)) return;
      this.#sendError(asGatewayError(err), frame.sub);
    });
  }

  /** Counts one frame against its per-second budget; false (and the connection closed with 4008) beyond it. */
  #count(settling: boolean): boolean {
    if (this.#closed) return false;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#framesInWindow = 0;
      this.#acksInWindow = 0;
    }
    const { WS_MAX_FRAMES_PER_SECOND, WS_MAX_ACKS_PER_SECOND } = this.#ctx.config;
    const over = settling ? ++this.#acksInWindow > WS_MAX_ACKS_PER_SECOND : ++this.#framesInWindow > WS_MAX_FRAMES_PER_SECOND;
    if (over) this.close(CLOSE_CODES.FLOOD.code, settling ? 'too many ack frames' : 'too many frames');
    return !over;
  }

  #parse(bytes: Buffer, isBinary: boolean): ClientFrame {
    if (isBinary) throw new GatewayError('GW_INVALID_FRAME', 'Send JSON text frames, not binary ones');
    const text = bytes.toString('utf8');
    // Refused before parsing: what follows the parse (validation, content filters) recurses.
    const maxDepth = this.#ctx.config.BODY_MAX_DEPTH;
    if (jsonDepthExceeds(text, maxDepth)) {
      throw new GatewayError('GW_INVALID_FRAME', `The frame nests objects and arrays more than ${maxDepth} levels deep`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new GatewayError('GW_INVALID_FRAME', 'The frame is not valid JSON');
    }
    const op = (value as { op?: unknown } | null)?.op;
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      typeof op !== 'string' ||
      !Object.hasOwn(CLIENT_FRAMES, op)
    ) {
      const err = new GatewayError('GW_INVALID_FRAME', `The frame needs "op": one of ${Object.keys(CLIENT_FRAMES).join(', ')}`, {
        errors: [{ pointer: '/op', message: `must be one of ${Object.keys(CLIENT_FRAMES).join(', ')}` }],
      });
      throw naming(err, value);
    }
    const validate = validators[op as keyof typeof CLIENT_FRAMES];
    if (!validate(value)) {
      throw naming(new GatewayError('GW_INVALID_FRAME', `The ${op} frame is invalid`, { errors: fieldErrors(validate.errors) }), value);
    }
    if (op === 'ack' || op === 'nak') {
      const named = SETTLE_FIELDS.filter((f) => (value as Record<string, unknown>)[f] !== undefined);
      if (named.length !== 1) {
        const err = new GatewayError('GW_INVALID_FRAME', `The ${op} frame needs exactly one of ${SETTLE_FIELDS.join(', ')}`, {
          errors: (named.length === 0 ? SETTLE_FIELDS : named).map((f) => ({
            pointer: `/${f}`,
            message: named.length === 0 ? 'one of seq, seqs, up_to is required' : 'only one of seq, seqs, up_to is allowed',
          })),
        });
        throw naming(err, value);
      }
    }
    return value as ClientFrame;
  }

  async #dispatch(frame: ClientFrame): Promise<void> {
    switch (frame.op) {
      case 'subscribe':
        return this.#subscribe(frame);
      case 'ack':
      case 'nak':
        return this.#settle(frame);
      case 'unsubscribe': {
        const sub = this.#existing(frame.sub);
        this.#forget(frame.sub);
        await sub.stop();
        this.sendFrame({ op: 'unsubscribed', sub: frame.sub });
        return;
      }
    }
  }

  #settle(frame: AckFrame | NakFrame): void {
    const sub = this.#existing(frame.sub);
    const delayMs = frame.op === 'nak' ? frame.delay_ms : undefined;
    if (frame.seq !== undefined) {
      if (frame.op === 'ack') sub.ack(frame.seq);
      else sub.nak(frame.seq, delayMs);
    } else if (frame.seqs !== undefined) {
      const missing = sub.settleMany(frame.op, frame.seqs, delayMs);
      if (missing.length > 0) {
        throw new GatewayError(
          'GW_NOT_IN_FLIGHT',
          `${missing.length} of the ${frame.seqs.length} events were not in flight (already acknowledged, or their ack wait passed); the others were settled`,
          { errors: missing.map((i) => ({ pointer: `/seqs/${i}`, message: 'not in flight' })) },
        );
      }
    } else if (frame.up_to !== undefined) {
      sub.settleUpTo(frame.op, frame.up_to, delayMs);
    }
  }

  /** Drops a subscription id and gives its place in the tenant's quota back. */
  #forget(id: string): void {
    this.#subs.delete(id);
    this.#leases.get(id)?.release();
    this.#leases.delete(id);
  }

  #existing(id: string): Delivery {
    const sub = this.#subs.get(id);
    if (!sub) throw new GatewayError('GW_UNKNOWN_SUBSCRIPTION', `No subscription "${id}" on this connection`);
    return sub;
  }

  async #subscribe(frame: SubscribeFrame): Promise<void> {
    const { config, bus } = this.#ctx;
    if (this.#subs.has(frame.sub)) {
      throw new GatewayError('GW_DUPLICATE_SUBSCRIPTION', `This connection already has a subscription "${frame.sub}"`);
    }
    if (this.#subs.size >= config.WS_MAX_SUBSCRIPTIONS) {
      throw new GatewayError('GW_TOO_MANY_SUBSCRIPTIONS', `A connection may hold ${config.WS_MAX_SUBSCRIPTIONS} subscriptions`);
    }
    const log = this.log.child({ sub: frame.sub });
    // The tenant's subscription quota: over it, an error frame (GW_RATE_LIMITED) for this `sub`.
    const quotas = this.#ctx.quotas;
    if (quotas) this.#leases.set(frame.sub, quotas.openSubscription(this.tenant));
    this.#subs.set(frame.sub, undefined); // hold the id while consumers are made
    let opened: OpenedSubscription;
    try {
      const admitGroup = quotas ? (name: string) => admitDurableConsumer(quotas, bus, this.tenant, name) : undefined;
      opened = await openSubscription(frame, this, bus, { maxInFlight: config.WS_MAX_IN_FLIGHT, admitGroup }, log);
    } catch (err) {
      this.#forget(frame.sub);
      throw err;
    }
    const { delivery, subscribed } = opened;
    if (this.#closed || this.#subs.get(frame.sub) !== undefined || !this.#subs.has(frame.sub)) {
      // Closed, or unsubscribed while opening (which already let its id go).
      if (this.#closed) this.#forget(frame.sub);
      await delivery.stop();
      return;
    }
    this.#subs.set(frame.sub, delivery);
    this.sendFrame(subscribed);
    log.debug({ types: frame.types, from: frame.from, ack: subscribed.ack, group: frame.group }, 'subscribed');
    delivery.run();
  }

  // ---- gateway → client

  get keepingUp(): boolean {
    const limit = this.#ctx.config.WS_SEND_BUFFER_BYTES;
    if (this.#socket.bufferedAmount <= limit) return true;
    // Corked frames are not behind the client: send them before judging.
    this.#uncork();
    return this.#socket.bufferedAmount <= limit;
  }

  async caughtUp(): Promise<boolean> {
    while (!this.#closed && !this.keepingUp) await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
    return !this.#closed;
  }

  sendRaw(frame: string | Buffer, onWritten?: (err?: Error) => void): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) {
      onWritten?.(new Error('connection closed'));
      return;
    }
    this.#cork();
    // A text frame either way; a Buffer (shared by several connections) is written as it is.
    this.#socket.send(frame, TEXT, onWritten);
  }

  /**
   * Frames queued in one loop turn (live events fanned out to many subscriptions of this connection,
   * a batch from a consumer) leave in one writev instead of one system call each, which otherwise
   * dominates the cost of live fan-out (see flushCorked). ws writes to the raw socket, whose cork
   * nests with its own.
   */
  #cork(): void {
    const raw = (this.#socket as unknown as { _socket?: Socket })._socket;
    if (!raw) return;
    if (this.#corked) {
      if (raw.writableLength < CORK_FLUSH_BYTES) return;
      // Enough gathered: send it now rather than let it pile up until the next tick.
      this.#uncork();
    }
    this.#corked = true;
    raw.cork();
    corked.add(this.#flushable);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushCorked);
    }
  }

  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    (this.#socket as unknown as { _socket?: Socket })._socket?.uncork();
  }

  sendFrame(frame: object): void {
    this.sendRaw(JSON.stringify(frame));
  }

  #sendError(err: GatewayError, sub: string | undefined): void {
    const frame: ErrorFrame = { op: 'error', code: err.code, message: err.message };
    if (sub !== undefined) frame.sub = sub;
    if (err.errors) frame.errors = err.errors;
    if (err.resumeFrom !== undefined) frame.resume_from = err.resumeFrom;
    if (err.statusCode >= 500) this.log.warn({ code: err.code, err: err.cause ?? err }, 'subscription error');
    this.sendFrame(frame);
  }

  fail(sub: string, err: GatewayError): void {
    const held = this.#subs.get(sub);
    this.#forget(sub);
    void held?.stop();
    this.#sendError(err, sub);
  }

  /** Every path that drops a slow consumer comes here: close code 4010 with a reason. */
  closeSlow(reason = 'slow consumer: more than WS_SEND_BUFFER_BYTES queued'): void {
    if (this.#closed) return;
    this.log.info({ buffered: this.#socket.bufferedAmount, reason }, 'closing a slow consumer');
    this.close(CLOSE_CODES.SLOW_CONSUMER.code, reason);
  }

  /**
   * Closes with a close frame; the socket's close event then disposes of the subscriptions. The
   * close frame queues behind what the client has not read yet: a client that goes on reading gets
   * it (and the code), one that reads nothing for CLOSE_GRACE_MS is cut off.
   */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close(code, reason);
    let queued = this.#socket.bufferedAmount;
    let rounds = 0;
    const check = () => {
      if (this.#socket.readyState === this.#socket.CLOSED) return;
      const now = this.#socket.bufferedAmount;
      if (now > 0 && now < queued && ++rounds < MAX_CLOSE_GRACE_ROUNDS) {
        queued = now;
        setTimeout(check, CLOSE_GRACE_MS).unref();
        return;
      }
      this.#socket.terminate();
    };
    setTimeout(check, CLOSE_GRACE_MS).unref();
  }

  /** Stops every subscription and deletes its server-side state; safe to call twice. */
  async dispose(): Promise<void> {
    this.#closed = true;
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    for (const lease of this.#leases.values()) lease.release();
    this.#leases.clear();
    await Promise.all(subs.map((s) => s?.stop()));
  }
}

/** A refused frame's error names the subscription whenever the frame carries a valid id, even an invalid frame. */
function naming(err: GatewayError, value: unknown): GatewayError & { sub?: string } {
  const sub = typeof value === 'object' && value !== null ? (value as { sub?: unknown }).sub : undefined;
  return isSubscriptionId(sub) ? Object.assign(err, { sub }) : err;
}

function asGatewayError(err: unknown): GatewayError {
  return err instanceof GatewayError ? err : new GatewayError('GW_INTERNAL', 'The gateway failed to handle the frame', { cause: err });
}
