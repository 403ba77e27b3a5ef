// The gateway's one connection to NATS: it owns the event stream's configuration and publishing.
// Everything outside src/bus/ sees `publish(event)` and a few status calls, never a raw
// connection; NATS and JetStream errors become GW_* errors here, at the edge.
import {
  ClosedConnectionError,
  connect,
  createInbox,
  DrainingConnectionError,
  headers,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  nanos,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import {
  DiscardPolicy,
  type JetStreamClient,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import type { Config } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { ensureDeadLetterStream } from './dead-letters.ts';
import { type OwnedStreamSettings, ensureOwnedStream } from './streams.ts';
import { eventSubject } from './subjects.ts';

interface PendingPublish {
  subject: string;
  payload: string;
  msgID: string;
  resolve: (ack: PublishResult) => void;
  reject: (err: unknown) => void;
}

interface AwaitedAck {
  subject: string;
  deadline: number;
  resolve: (ack: PublishResult) => void;
  reject: (err: unknown) => void;
}

export interface PublishResult {
  seq: number;
  stream: string;
  duplicate: boolean;
}

export type BusConfig = Pick<
  Config,
  | 'NATS_URL'
  | 'NATS_TOKEN'
  | 'NATS_USER'
  | 'NATS_PASSWORD'
  | 'STREAM_NAME'
  | 'STREAM_SUBJECT_PREFIX'
  | 'STREAM_MAX_AGE'
  | 'STREAM_MAX_BYTES'
  | 'STREAM_REPLICAS'
  | 'STREAM_DUPLICATE_WINDOW'
  | 'STREAM_STORAGE'
  | 'PUBLISH_TIMEOUT_MS'
  | 'RETRY_AFTER_SECONDS'
  | 'CONSUMER_ACK_WAIT'
  | 'CONSUMER_MAX_DELIVER'
  | 'CONSUMER_IDLE_TIMEOUT'
  | 'DEAD_LETTER_STREAM'
  | 'DEAD_LETTER_MAX_AGE'
>;

/** The stream settings the gateway owns; anything else an operator set on the stream is kept. */
export function streamSettings(config: BusConfig): OwnedStreamSettings {
  return {
    name: config.STREAM_NAME,
    // `<prefix>_redrive.<tenant>.<consumer>` carries dead letters put back to one durable consumer.
    subjects: [`${config.STREAM_SUBJECT_PREFIX}.>`, `${config.STREAM_SUBJECT_PREFIX}_redrive.>`],
    max_age: nanos(config.STREAM_MAX_AGE),
    max_bytes: config.STREAM_MAX_BYTES,
    num_replicas: config.STREAM_REPLICAS,
    duplicate_window: nanos(config.STREAM_DUPLICATE_WINDOW),
    storage: config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    // Direct gets let any replica answer history reads without a consumer.
    allow_direct: true,
    // Every STORED event is republished to `<prefix>_live.…` (with its Nats-Sequence), which the
    // WebSocket live hub subscribes to: a deduplicated retry is never seen twice by a live reader.
    republish: { src: `${config.STREAM_SUBJECT_PREFIX}.>`, dest: `${config.STREAM_SUBJECT_PREFIX}_live.>` },
  };
}

export class EventBus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: BusConfig;
  readonly log: Logger;
  #connected = true;
  // Publishes asked for during one turn of the event loop, sent together (see `publish`).
  #pending: PendingPublish[] = [];
  #sendScheduled = false;
  // Publishes sent and awaiting their acknowledgement, by the last token of their reply subject.
  readonly #awaiting = new Map<string, AwaitedAck>();
  readonly #ackPrefix: string;
  #nextAck = 0;
  #sweeper: NodeJS.Timeout | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, config: BusConfig, log: Logger) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: config.PUBLISH_TIMEOUT_MS });
    this.config = config;
    this.log = log;
    // Every publish acknowledgement arrives on one subscription (see #sendPending).
    const inbox = createInbox();
    this.#ackPrefix = `${inbox}.`;
    const acks = nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => (err ? log.warn({ err }, 'acknowledgement subscription failed') : this.#onAck(msg)),
    });
    // Closed (drained, or the connection closed): nothing awaited can be acknowledged any more.
    void acks.closed.then(() => this.#rejectAwaiting(() => new ClosedConnectionError()));
  }

  /** Connects (waiting for the first connection), creates or updates the stream, and watches the connection. */
  static async connect(config: BusConfig, log: Logger): Promise<EventBus> {
    const servers = config.NATS_URL;
    if (!servers || servers.length === 0) throw new Error('NATS_URL is not set');
    let attempt = 0;
    const nc = await connect({
      servers,
      name: 'platforma-event-gateway',
      token: config.NATS_TOKEN,
      user: config.NATS_USER,
      pass: config.NATS_PASSWORD,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      // Exponential backoff from 100 ms to 5 s with jitter, forever; reset on reconnect.
      reconnectDelayHandler: () => {
        const base = Math.min(5000, 100 * 2 ** Math.min(attempt++, 6));
        return base / 2 + Math.random() * (base / 2);
      },
      pingInterval: 10_000,
      maxPingOut: 3,
      // nats.js otherwise builds two Error objects (stack traces included) for every request,
      // publishes too: 15 % of the gateway's CPU under load. Failures are translated to GW_*
      // errors anyway, whose stack is ours.
      noAsyncTraces: true,
    });
    const jsm = await jetstreamManager(nc, { timeout: config.PUBLISH_TIMEOUT_MS });
    const bus = new EventBus(nc, jsm, config, log);
    await bus.ensureStream();
    await ensureDeadLetterStream(bus);
    void bus.#watch(() => {
      attempt = 0;
    });
    return bus;
  }

  async #watch(onReconnect: () => void): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.log.warn({ server: s.server }, 'NATS disconnected');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        onReconnect();
        this.log.info({ server: s.server }, 'NATS reconnected');
        // A server that lost its storage (or a new cluster) gets the stream back.
        Promise.all([this.ensureStream(), ensureDeadLetterStream(this)]).catch((err: unknown) =>
          this.log.error({ err }, 'could not ensure the stream after reconnect'),
        );
      } else if (s.type === 'close') {
        this.#connected = false;
      }
    }
  }

  get connected(): boolean {
    return this.#connected && !this.nc.isClosed() && !this.nc.isDraining();
  }

  /** Creates the stream, or updates the settings the gateway owns. Safe when instances race. */
  ensureStream(): Promise<void> {
    return ensureOwnedStream(this.jsm, streamSettings(this.config), this.log, 'stream');
  }

  /** True when NATS is connected and the stream answers. */
  async streamReady(): Promise<boolean> {
    if (!this.connected) return false;
    try {
      await this.jsm.streams.info(this.config.STREAM_NAME);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores one event and resolves only once JetStream acknowledged it. The dedupe key includes
   * the tenant, so two tenants can use the same event id.
   */
  async publish(event: EventEnvelope): Promise<PublishResult> {
    if (!this.connected) throw this.unavailable('The event bus is not connected');
    const subject = eventSubject(this.config.STREAM_SUBJECT_PREFIX, event.tenant_id, event.type, event.metadata.correlation_id);
    try {
      return await new Promise<PublishResult>((resolve, reject) => {
        this.#pending.push({ subject, payload: JSON.stringify(event), msgID: `${event.tenant_id}:${event.id}`, resolve, reject });
        if (!this.#sendScheduled) {
          this.#sendScheduled = true;
          setImmediate(this.#sendPending);
        }
      });
    } catch (err) {
      throw this.translate(err);
    }
  }

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
    const deadline = Date.now() + this.config.PUBLISH_TIMEOUT_MS;
    for (const p of batch) {
      const token = (this.#nextAck++).toString(36);
      const h = headers();
      h.set('Nats-Msg-Id', p.msgID);
      try {
        this.nc.publish(p.subject, p.payload, { reply: this.#ackPrefix + token, headers: h });
      } catch (err) {
        p.reject(err); // closed or draining
        continue;
      }
      this.#awaiting.set(token, { subject: p.subject, deadline, resolve: p.resolve, reject: p.reject });
    }
    if (this.#awaiting.size > 0 && this.#sweeper === undefined) {
      const every = Math.min(250, Math.max(10, Math.floor(this.config.PUBLISH_TIMEOUT_MS / 10)));
      this.#sweeper = setInterval(this.#sweep, every);
      this.#sweeper.unref();
    }
  };

  #onAck(msg: Msg): void {
    const token = msg.subject.slice(this.#ackPrefix.length);
    const awaited = this.#awaiting.get(token);
    if (!awaited) return; // answered after it timed out
    this.#awaiting.delete(token);
    // No stream listens on the subject (or JetStream is gone): the server answers "no responders".
    if (msg.headers?.hasError && msg.headers.code === 503 && msg.data.length === 0) {
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
      else if (typeof ack.seq !== 'number' || !ack.stream) awaited.reject(new Error('invalid acknowledgement from JetStream'));
      else awaited.resolve({ seq: ack.seq, stream: ack.stream, duplicate: ack.duplicate === true });
    } catch (err) {
      awaited.reject(err);
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
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  unavailable(detail: string, cause?: unknown): GatewayError {
    return new GatewayError('GW_NATS_UNAVAILABLE', detail, { retryAfter: this.config.RETRY_AFTER_SECONDS, cause });
  }

  /** NATS and JetStream failures as GW_* errors (every one retryable: the event was not acknowledged). */
  translate(err: unknown): GatewayError {
    if (err instanceof GatewayError) return err;
    const cause = err instanceof RequestError || err instanceof Error ? (err.cause ?? err) : err;
    if (err instanceof TimeoutError || cause instanceof TimeoutError) {
      return new GatewayError(
        'GW_PUBLISH_TIMEOUT',
        `No acknowledgement from JetStream within ${this.config.PUBLISH_TIMEOUT_MS} ms; retry with the same event id`,
        {
          retryAfter: this.config.RETRY_AFTER_SECONDS,
          cause: err,
        },
      );
    }
    if (err instanceof NoRespondersError || cause instanceof NoRespondersError) {
      return this.unavailable('JetStream is not answering (no responders for the stream)', err);
    }
    if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
      return this.unavailable('The event bus connection is closed', err);
    }
    if (err instanceof JetStreamApiError) {
      return this.unavailable(`JetStream refused the operation: ${err.message}`, err);
    }
    return this.unavailable(`The event bus failed: ${(err as Error)?.message ?? String(err)}`, err);
  }

  /** Stops taking work and flushes what is in flight. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}
