// Publishing events, pipelined: every publish made in one turn of the event loop leaves in one
// socket write (while earlier publishes await their acknowledgement, until the next one arrives),
// and every acknowledgement arrives on one subscription. Performance-tuned (the publish path is
// benchmarked); see #sendPending and #requestSend before changing anything here.

import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, createInbox, type Msg, type MsgHdrs, NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import type { Static } from '@sinclair/typebox';
import type { PublishResult as PublishResultSchema } from '../../schemas/api.ts';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import { GatewayError } from '../errors.ts';
import type { BusContext } from './context.ts';
import { BusProtocolError, PullStatus, translate, unavailable } from './errors.ts';
import { eventSubject } from './subjects.ts';

/** How a publish travels besides its envelope. */
export interface PublishOptions {
  /**
   * The publisher's W3C trace context (already validated, see src/tracing.ts): sent as the
   * `traceparent` / `tracestate` headers of the NATS message, so every delivery carries it.
   */
  trace?: { traceparent: string; tracestate?: string | undefined } | undefined;
}

interface PendingPublish {
  subject: string;
  /** The envelope's JSON, encoded once: these bytes are what JetStream stores. */
  payload: Buffer;
  headers: MsgHdrs;
  resolve: (ack: PublishResult) => void;
  reject: (err: unknown) => void;
}

interface AwaitedAck {
  subject: string;
  deadline: number;
  /** performance.now() when sent (publish-ack latency). */
  sentAt: number;
  resolve: (ack: PublishResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Room kept below the server's max_payload for what is added to a stored event later: the headers
 * of the stream's republish (live feed) and of a dead letter (reason, counts, original subject up to
 * ~450 bytes, consumer, tenant, its message id), at most about 1.2 KiB. An event that fits only
 * without them could be stored but never dead-lettered, so it is refused instead.
 */
export const LATER_HEADERS_BYTES = 2048;

/**
 * The longest a publish is held back, waiting for the next acknowledgement to clock it out with
 * others (see #requestSend): an upper bound on the latency the coalescing adds.
 */
export const PUBLISH_HOLD_MS = 1;

/**
 * Publishes are held back only while at least this many await their acknowledgement: then the
 * next one is near (a busy publisher), whereas a lone one in flight may be a whole round trip
 * away (a paced publisher, which should not wait for it).
 */
const HOLD_WHEN_AWAITING = 4;

/**
 * The headers of a publish, encoded once: `Nats-Msg-Id` (JetStream's dedupe key) and the trace
 * context, in the wire format nats.js's own headers() object encodes to
 * (`NATS/1.0\r\nNats-Msg-Id: <id>\r\ntraceparent: …\r\n\r\n`). nats.js's publish only calls
 * `encode()` on a message's headers; its headers() object would validate and canonicalise each
 * name and value (arrays and a regex per call) and encode the lot again for every publish. The
 * values need no escaping: the id is `<tenant>:<event id>`, both subject tokens (schemas/identifiers.ts),
 * and a trace context was matched against the W3C grammar (src/tracing.ts), so none holds CR or LF.
 */
class PublishHeaders {
  readonly bytes: Buffer;
  constructor(msgID: string, trace: PublishOptions['trace']) {
    let text = `NATS/1.0\r\nNats-Msg-Id: ${msgID}\r\n`;
    if (trace) {
      text += `traceparent: ${trace.traceparent}\r\n`;
      if (trace.tracestate) text += `tracestate: ${trace.tracestate}\r\n`;
    }
    this.bytes = Buffer.from(`${text}\r\n`);
  }
  encode(): Uint8Array {
    return this.bytes;
  }
}

/** Where JetStream stored an event: the API's PublishResult without the event id. */
export type PublishResult = Omit<Static<typeof PublishResultSchema>, 'id'>;

export class Publisher {
  readonly #ctx: BusContext;
  // Publishes asked for during one turn of the event loop, sent together (see `publish`).
  #pending: PendingPublish[] = [];
  #sendScheduled = false;
  // Pending publishes held until the next acknowledgement (or PUBLISH_HOLD_MS), see #requestSend.
  #holding = false;
  #holdTimer: NodeJS.Timeout | undefined;
  // Publishes sent and awaiting their acknowledgement, by the last token of their reply subject.
  readonly #awaiting = new Map<string, AwaitedAck>();
  readonly #ackPrefix: string;
  #nextAck = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(ctx: BusContext) {
    this.#ctx = ctx;
    // Every publish acknowledgement arrives on one subscription (see #sendPending).
    const inbox = createInbox();
    this.#ackPrefix = `${inbox}.`;
    const acks = ctx.nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => (err ? ctx.log.warn({ err }, 'acknowledgement subscription failed') : this.#onAck(msg)),
    });
    // Closed (drained, or the connection closed): nothing awaited can be acknowledged any more.
    void acks.closed.then(() => this.#rejectAwaiting(() => new ClosedConnectionError()));
  }

  /**
   * Stores one event and resolves only once JetStream acknowledged it. The dedupe key includes
   * the tenant, so two tenants can use the same event id.
   */
  async publish(event: EventEnvelope, opts?: PublishOptions): Promise<PublishResult> {
    const ctx = this.#ctx;
    if (!ctx.connected) throw unavailable(ctx.config, 'The event bus is not connected');
    const subject = eventSubject(ctx.config.STREAM_SUBJECT_PREFIX, event.tenant_id, event.type, event.metadata.correlation_id);
    // Serialised and encoded once; nats.js sends a Uint8Array as it is (a string it would encode again).
    const payload = Buffer.from(JSON.stringify(event));
    const headers = new PublishHeaders(`${event.tenant_id}:${event.id}`, opts?.trace);
    // The server refuses (and nats.js throws on) a message beyond its max_payload: a client's
    // mistake, answered 413 before anything is sent. The connected server's INFO says the limit.
    const maxPayload = ctx.nc.info?.max_payload;
    if (maxPayload !== undefined) {
      const size = payload.length + headers.bytes.length;
      if (size + LATER_HEADERS_BYTES > maxPayload) {
        throw new GatewayError(
          'GW_PAYLOAD_TOO_LARGE',
          `The event is ${size} bytes as stored (with the fields and headers the gateway adds); the event bus takes at most ${maxPayload - LATER_HEADERS_BYTES} (its max_payload ${maxPayload} less ${LATER_HEADERS_BYTES} for headers added later)`,
        );
      }
    }
    try {
      return await new Promise<PublishResult>((resolve, reject) => {
        this.#pending.push({ subject, payload, headers: headers as unknown as MsgHdrs, resolve, reject });
        this.#requestSend();
      });
    } catch (err) {
      throw translate(err, ctx.config);
    }
  }

  // A socket write costs the gateway about as much CPU as the rest of a POST together (the kernel's
  // loopback TCP send is charged to the writer), and under load HTTP requests arrive one per
  // loop turn, so one write per turn was nearly one write per publish. Like Nagle's algorithm:
  // with few publishes awaiting their acknowledgement a publish leaves at the end of this turn;
  // with more, it waits for the next acknowledgement to arrive (soon, with so many in flight),
  // gathering whatever else comes meanwhile into the same write, but never longer than
  // PUBLISH_HOLD_MS. A paced publisher has one or none in flight and waits for nothing; a busy
  // one sends a few writes per round trip instead of one per request.
  #requestSend(): void {
    if (this.#sendScheduled || this.#holding) return;
    if (this.#awaiting.size < HOLD_WHEN_AWAITING) {
      this.#sendScheduled = true;
      setImmediate(this.#sendPending);
      return;
    }
    this.#holding = true;
    // One timer for the life of the publisher, re-armed per hold (no Timeout object per batch).
    if (this.#holdTimer === undefined) {
      this.#holdTimer = setTimeout(this.#release, PUBLISH_HOLD_MS);
      this.#holdTimer.unref();
    } else this.#holdTimer.refresh();
  }

  // The held publishes leave at the end of this loop turn (with any that arrive in it).
  readonly #release = (): void => {
    if (!this.#holding) return;
    this.#holding = false;
    if (!this.#sendScheduled) {
      this.#sendScheduled = true;
      setImmediate(this.#sendPending);
    }
  };

  // nats.js writes its outbound buffer to the socket in a microtask, so publishes made by separate
  // HTTP requests (each parsed in an I/O callback of its own) would cost one socket write each:
  // the largest single cost of a POST. Sending them from one setImmediate, right after the poll
  // phase that read those requests, puts them in one write.
  //
  // Each is a plain publish whose reply subject is `<inbox>.<token>` on the one acknowledgement
  // subscription, which is what JetStream's publish is; nats.js's request() would add a request
  // object, a timer and two Error objects (stack traces) per publish, a fifth of the gateway's
  // CPU in a batch. One sweeper timer enforces PUBLISH_TIMEOUT_MS for all of them.
  readonly #sendPending = (): void => {
    this.#sendScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const { nc, config } = this.#ctx;
    const deadline = Date.now() + config.PUBLISH_TIMEOUT_MS;
    const sentAt = performance.now();
    for (const p of batch) {
      const token = (this.#nextAck++).toString(36);
      try {
        nc.publish(p.subject, p.payload, { reply: this.#ackPrefix + token, headers: p.headers });
      } catch (err) {
        p.reject(err); // closed or draining
        continue;
      }
      this.#awaiting.set(token, { subject: p.subject, deadline, sentAt, resolve: p.resolve, reject: p.reject });
    }
    if (this.#awaiting.size > 0 && this.#sweeper === undefined) {
      const every = Math.min(250, Math.max(10, Math.floor(config.PUBLISH_TIMEOUT_MS / 10)));
      this.#sweeper = setInterval(this.#sweep, every);
      this.#sweeper.unref();
    }
  };

  #onAck(msg: Msg): void {
    const token = msg.subject.slice(this.#ackPrefix.length);
    const awaited = this.#awaiting.get(token);
    if (!awaited) return; // answered after it timed out
    this.#awaiting.delete(token);
    this.#release();
    this.#ctx.hooks?.publishAcked?.((performance.now() - awaited.sentAt) / 1000);
    // No stream listens on the subject (or JetStream is gone): the server answers "no responders".
    if (msg.headers?.hasError && msg.headers.code === PullStatus.NoResponders && msg.data.length === 0) {
      awaited.reject(new NoRespondersError(awaited.subject));
      return;
    }
    try {
      const ack = JSON.parse(msg.string()) as {
        stream?: string;
        seq?: number;
        duplicate?: boolean;
        error?: { code: number; err_code: number; description: string };
      };
      if (ack.error) awaited.reject(new JetStreamApiError(ack.error));
      else if (typeof ack.seq !== 'number' || !ack.stream) awaited.reject(new BusProtocolError('invalid acknowledgement from JetStream'));
      else awaited.resolve({ seq: ack.seq, stream: ack.stream, duplicate: ack.duplicate === true });
    } catch (err) {
      awaited.reject(new BusProtocolError('undecodable acknowledgement from JetStream', { cause: err }));
    }
  }

  // Deadlines grow in insertion order (one timeout for all), so the sweep stops at the first
  // publish still in time.
  readonly #sweep = (): void => {
    const now = Date.now();
    for (const [token, awaited] of this.#awaiting) {
      if (awaited.deadline > now) break;
      this.#awaiting.delete(token);
      awaited.reject(new TimeoutError());
    }
    if (this.#awaiting.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  };

  #rejectAwaiting(error: () => Error): void {
    for (const awaited of this.#awaiting.values()) awaited.reject(error());
    this.#awaiting.clear();
    this.#release();
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
