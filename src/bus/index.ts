// The event bus as the rest of the gateway sees it: one `Bus`, made by `Bus.start(config, log)`
// (connecting in the background: every call answers GW_NOT_READY until NATS is connected and the
// streams are ensured) or `Bus.connect(config, log)` (waiting for that),
// that speaks the domain (publish an envelope, read history, manage durable consumers, list and
// redrive dead letters, redeem a ticket nonce, open the sources deliveries read from) and never
// hands out the NATS connection, a subject or a JetStream code. Every NATS or JetStream failure
// leaves as a GW_* error (errors.ts); one the bus does not recognise is GW_INTERNAL.
//
// Inside, small modules that each take a BusContext:
//   connection.ts   connect, reconnect with backoff, status, drain
//   streams.ts      the event and dead-letter streams: settings, ensure, readiness, bounds
//   publisher.ts    pipelined publishing of envelopes
//   durable-consumers.ts / consumers.ts   durable, ephemeral and ordered consumers as sources
//   http-pull.ts    the `no_wait`+`expires` pull of HTTP fetches and settling by handle
//   history.ts / correlations.ts          history pages and correlation traces (direct gets)
//   live-feed.ts    the per-instance live feed (stream republish → in-process listeners)
//   dead-letters.ts dead-lettering, listing and redrive
//   ticket-store.ts single use of WebSocket ticket nonces
//   admin-bucket.ts the admin bucket (NATS KV): API keys and tenant settings, watched by every instance
//   security.ts     credentials and TLS of the NATS connection, from their files
//   presence.ts     instances announcing themselves and a small state to each other (a KV bucket)
//   consumer-count.ts  a tenant's durable consumers, counted (quotas)
//   idempotency-store.ts  Idempotency-Key claims and stored answers (NATS KV)
//   webhooks.ts     webhook definitions (KV), their consumers and recent delivery attempts
//   settle-batch.ts acks and naks of one event-loop turn, sent in one write
//   subjects.ts     the subject layout; errors.ts  translation and named codes
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import { within } from '../deadline.ts';
import type { GatewayError } from '../errors.ts';
import type { ApiKeyRecord } from '../../schemas/admin.ts';
import type { TenantSettings } from '../../schemas/tenants.ts';
import { endSpan, startSendSpan, type TraceContext, traceContextOfSpan, tracingActive } from '../tracing.ts';
import { type AdminChange, AdminBucket, type AdminWatch, type RestartableWatch } from './admin-bucket.ts';
import { BusConnection, notReady } from './connection.ts';
import { type OrderedSource, openDurable, openEphemeral, openOrdered, type Selection } from './consumers.ts';
import { countTenantConsumers } from './consumer-count.ts';
import type { BusConfig, BusContext, BusStatus } from './context.ts';
import { type CorrelationTrace, traceCorrelation } from './correlations.ts';
import {
  type DeadLetterQuery,
  type DeadLetterReason,
  type DeadLetterRecord,
  type DeadLetterTarget,
  type DeliveredMessage,
  deadLetter,
  deadLetterIfExhausted,
  listDeadLetters,
  type RedriveResult,
  redriveDeadLetters,
} from './dead-letters.ts';
import type { AckedSource, Delivered } from './delivered.ts';
import {
  type ConsumerBacklog,
  type ConsumerDescription,
  type ConsumerSpec,
  type DurableConsumer,
  deleteDurableConsumer,
  describeConsumer,
  durableName,
  type EnsureOutcome,
  ensureDurableConsumer,
  getDurableConsumer,
  legacyDurableName,
  listDurableConsumers,
  sampleDurableConsumers,
} from './durable-consumers.ts';
import { translate, unavailable } from './errors.ts';
import { firstSeqSince, type HistoryFilters, type HistoryLimits, type HistoryPage, readHistory } from './history.ts';
import { HttpPullSource, settleHandle } from './http-pull.ts';
import { type IdempotencyClaim, type IdempotentAnswer, IdempotencyStore } from './idempotency-store.ts';
import { LiveFeed } from './live-feed.ts';
import { Presence, type PresenceOptions, presenceBucket } from './presence.ts';
import { type PublishOptions, Publisher, type PublishResult } from './publisher.ts';
import { eventSubject } from './subjects.ts';
import { type Settlement, SettleBatch } from './settle-batch.ts';
import { ensureStreams, type StreamBounds, streamBounds, streamReady } from './streams.ts';
import { TicketNonces } from './ticket-store.ts';
import {
  deleteWebhookConsumer,
  ensureWebhookConsumer,
  openWebhookSource,
  type WebhookConsumerSpec,
  type WebhookPosition,
  WebhookStore,
  webhookPosition,
} from './webhooks.ts';

export type { AdminChange, AdminWatch } from './admin-bucket.ts';
export type { OrderedSource, Selection } from './consumers.ts';
export type { BusConfig, BusStatus } from './context.ts';
export type { CorrelationTrace } from './correlations.ts';
export type { DeadLetterQuery, DeadLetterRecord, DeadLetterTarget, RedriveResult } from './dead-letters.ts';
export type { AckedSource, CarriedTrace, Delivered, PulledDelivery } from './delivered.ts';
export { traceContextOf } from './delivered.ts';
export type { ConsumerBacklog, ConsumerDescription, ConsumerSpec, DurableConsumer, EnsureOutcome, StartFrom } from './durable-consumers.ts';
export type { HistoryFilters, HistoryLimits, HistoryPage, StoredEvent } from './history.ts';
export type { IdempotencyClaim, IdempotentAnswer } from './idempotency-store.ts';
export { decodeCursor, encodeCursor, sameFilters } from './history.ts';
export type { LiveEvent, LiveFeed, LiveListener } from './live-feed.ts';
export type { PublishOptions, PublishResult } from './publisher.ts';
export type { StreamBounds } from './streams.ts';
export { natsSecurityOptions } from './security.ts';
export type { Presence } from './presence.ts';
export type { WebhookConsumerSpec, WebhookPosition, WebhookRecord, WebhookStore } from './webhooks.ts';
export { webhookDeadLetterName } from './webhooks.ts';

/** How long `streamReady` waits for the event stream to answer (`/readyz` answers within a second). */
const READINESS_TIMEOUT_MS = 750;

/** Test-only access to the connection (see testing.ts); undefined for anything not made by Bus.connect. */
const contexts = new WeakMap<Bus, BusContext>();

export class Bus {
  /** The live feed of this instance (one NATS subscription per tenant with live listeners). */
  readonly live: LiveFeed;
  readonly #connection: BusConnection;
  /** The publisher, made once the bus is ready (undefined before). */
  #readyPublisher: Publisher | undefined;
  #closed = false;
  #tickets: TicketNonces | undefined;
  #admin: AdminBucket | undefined;
  readonly #adminWatches = new Set<AdminWatch>();
  readonly #presences = new Set<Promise<Presence>>();
  #idempotency: IdempotencyStore | undefined;
  #webhooks: WebhookStore | undefined;
  readonly #settles = new SettleBatch();
  /** Resolves once NATS is connected and the streams are ensured (pending for good if closed before). */
  readonly ready: Promise<void>;
  /**
   * Resolves once the first attempt is over: ready, or the first connection (or setting up the
   * streams) failed, after which the bus goes on trying in the background.
   */
  readonly started: Promise<void>;

  private constructor(conn: BusConnection) {
    this.#connection = conn;
    this.live = new LiveFeed(conn, conn.config.STREAM_SUBJECT_PREFIX, conn.log);
    contexts.set(this, conn);
    let firstSetup!: () => void;
    const setUp = new Promise<void>((resolve) => {
      firstSetup = resolve;
    });
    this.ready = this.#setUp(firstSetup);
    this.ready.catch((err: unknown) => conn.log.error({ err }, 'the event bus could not be set up'));
    this.started = conn.firstAttempt.then((connected) => (connected ? setUp : undefined));
  }

  /** The connection, once the bus is ready; GW_NOT_READY before. */
  get #conn(): BusConnection {
    if (!this.#readyPublisher) throw notReady(this.#connection.config, 'The event bus is not ready yet (connecting to NATS)');
    return this.#connection;
  }

  get #publisher(): Publisher {
    if (!this.#readyPublisher) throw notReady(this.#connection.config, 'The event bus is not ready yet (connecting to NATS)');
    return this.#readyPublisher;
  }

  /** Starts connecting in the background and returns at once; see `started` and `ready`. */
  static start(config: BusConfig, log: Logger): Bus {
    return new Bus(BusConnection.start(config, log));
  }

  /** Connects (waiting for the first connection), creates or checks the streams (streams.ts), and watches the connection. */
  static async connect(config: BusConfig, log: Logger): Promise<Bus> {
    const bus = Bus.start(config, log);
    await bus.ready;
    return bus;
  }

  /** Once connected: ensures the streams (retried with backoff until it works), then ready. */
  async #setUp(firstSetup: () => void): Promise<void> {
    const conn = this.#connection;
    await conn.opened;
    for (let tries = 1; !this.#closed; tries++) {
      try {
        // The event, dead-letter and WebSocket ticket streams.
        await ensureStreams(conn);
        break;
      } catch (err) {
        const delayMs = Math.min(5000, 100 * 2 ** Math.min(tries, 6));
        conn.log.error({ err, attempt: tries, retry_in_ms: delayMs }, 'could not ensure the streams; retrying');
        firstSetup();
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
    if (this.#closed) return new Promise<void>(() => undefined);
    // A server that lost its storage (or a new cluster) gets the streams back.
    conn.onReconnect(() => {
      ensureStreams(conn).catch((err: unknown) => conn.log.error({ err }, 'could not ensure the streams after reconnect'));
    });
    this.#readyPublisher = new Publisher(conn);
    conn.log.info({ stream: conn.config.STREAM_NAME }, 'event bus ready');
    firstSetup();
  }

  /** @internal for src/bus/testing.ts only. */
  static contextOf(bus: Bus): BusContext | undefined {
    return contexts.get(bus);
  }

  // ---- status

  get connected(): boolean {
    return this.#connection.connected;
  }

  /**
   * Calls `listener` on every change of the NATS connection (connected, disconnected, reconnected,
   * closed); returns what stops it.
   */
  onStatus(listener: (status: BusStatus) => void): () => void {
    const listeners = this.#connection.hooks.status;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Calls `listener` with the seconds each publish waited for JetStream's acknowledgement (one listener). */
  onPublishAck(listener: ((seconds: number) => void) | undefined): void {
    this.#connection.hooks.publishAcked = listener;
  }

  /** The backlog of at most `max` of the gateway's durable consumers (for metrics; bounded cost). */
  async sampleConsumers(max: number): Promise<ConsumerBacklog[]> {
    try {
      return await sampleDurableConsumers(this.#conn, max);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /**
   * True when NATS is connected and the event stream answers within READINESS_TIMEOUT_MS (a
   * frozen server must not hold a readiness probe for the whole request timeout).
   */
  async streamReady(): Promise<boolean> {
    if (!this.#readyPublisher) return false;
    return within(streamReady(this.#conn), READINESS_TIMEOUT_MS, false);
  }

  /** What the event stream holds now (for resolving a start position). */
  async streamBounds(): Promise<StreamBounds> {
    try {
      return await streamBounds(this.#conn);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Stops the live feed, stops taking work and flushes what is in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#settles.flush();
    const watchesStopped = [...this.#adminWatches].map((w) => w.stop());
    this.live.stop();
    await Promise.allSettled([...watchesStopped, ...[...this.#presences].map((p) => p.then((presence) => presence.close()))]);
    await this.#connection.close();
  }

  // ---- errors

  /** GW_NATS_UNAVAILABLE with the configured Retry-After. */
  unavailable(detail: string, cause?: unknown): GatewayError {
    return unavailable(this.#connection.config, detail, cause);
  }

  /** Any failure as a GW_* error: bus failures retryable, anything unrecognised GW_INTERNAL. */
  translate(err: unknown): GatewayError {
    return translate(err, this.#connection.config);
  }

  // ---- publishing and reading

  /**
   * Stores one event; resolves once JetStream acknowledged it. `opts.trace` (the publisher's W3C
   * trace context) travels with the event to every delivery; with tracing on, a producer `send`
   * span is made as its child, and the span's context travels instead.
   */
  publish(event: EventEnvelope, opts?: PublishOptions): Promise<PublishResult> {
    if (!tracingActive()) return this.#publisher.publish(event, opts);
    return this.#publishTraced(event, opts?.trace);
  }

  async #publishTraced(event: EventEnvelope, parent: TraceContext | undefined): Promise<PublishResult> {
    const { STREAM_SUBJECT_PREFIX } = this.#connection.config;
    const span = startSendSpan(
      {
        subject: eventSubject(STREAM_SUBJECT_PREFIX, event.tenant_id, event.type, event.metadata.correlation_id),
        id: event.id,
        correlationId: event.metadata.correlation_id,
      },
      parent,
    );
    try {
      const stored = await this.#publisher.publish(event, { trace: traceContextOfSpan(span) });
      span.setAttribute('messaging.nats.stream.sequence', stored.seq);
      if (stored.duplicate) span.setAttribute('messaging.nats.duplicate', true);
      endSpan(span);
      return stored;
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  }

  /** The first sequence of the tenant's events stored at or after `since`, or undefined if none. */
  firstSeqSince(tenant: string, since: string): Promise<number | undefined> {
    return firstSeqSince(this.#conn, tenant, since);
  }

  readHistory(tenant: string, filters: HistoryFilters, fromSeq: number, limits: HistoryLimits): Promise<HistoryPage> {
    return readHistory(this.#conn, tenant, filters, fromSeq, limits);
  }

  traceCorrelation(tenant: string, correlationId: string, maxEvents: number): Promise<CorrelationTrace | undefined> {
    return traceCorrelation(this.#conn, tenant, correlationId, maxEvents);
  }

  // ---- durable consumers

  ensureConsumer(tenant: string, name: string, spec: ConsumerSpec): Promise<DurableConsumer & { outcome: EnsureOutcome }> {
    return ensureDurableConsumer(this.#conn, tenant, name, spec);
  }

  getConsumer(tenant: string, name: string): Promise<DurableConsumer | undefined> {
    return getDurableConsumer(this.#conn, tenant, name);
  }

  describeConsumer(tenant: string, name: string): Promise<ConsumerDescription | undefined> {
    return describeConsumer(this.#conn, tenant, name);
  }

  deleteConsumer(tenant: string, name: string): Promise<boolean> {
    return deleteDurableConsumer(this.#conn, tenant, name);
  }

  /** Every durable consumer of the tenant (and only the tenant's), by name. */
  listConsumers(tenant: string): Promise<(ConsumerDescription & { last_active?: string })[]> {
    return listDurableConsumers(this.#conn, tenant);
  }

  // ---- dead letters

  listDeadLetters(tenant: string, q: DeadLetterQuery): Promise<{ dead_letters: DeadLetterRecord[]; next_after_seq?: number }> {
    return listDeadLetters(this.#conn, tenant, q);
  }

  redriveDeadLetters(
    tenant: string,
    what: { seqs: number[] } | { filter: { consumer?: string | undefined; types?: string[] | undefined }; limit: number },
    opts: { dryRun?: boolean } = {},
  ): Promise<RedriveResult[]> {
    return redriveDeadLetters(this.#conn, tenant, what, opts);
  }

  /**
   * Acks or naks a delivery at the end of this turn of the event loop, in one socket write with
   * every other ack and nak of the turn (see settle-batch.ts). Not awaited: a lost ack means a
   * redelivery, as with any ack.
   */
  acknowledge(msg: Delivered, op: Settlement, delayMs?: number): void {
    this.#settles.add(msg, op, delayMs);
  }

  /**
   * Dead-letters `msg` when it was delivered more often than `target` allows (then true: do not
   * hand it out). Throws, leaving it to be redelivered, when the dead letter could not be stored.
   */
  deadLetterIfExhausted(msg: Delivered, target: DeadLetterTarget): Promise<boolean> {
    return deadLetterIfExhausted(this.#conn, asDeliveredMessage(msg), target);
  }

  deadLetter(msg: Delivered, target: DeadLetterTarget, reason: DeadLetterReason): Promise<void> {
    return deadLetter(this.#conn, asDeliveredMessage(msg), target, reason);
  }

  // ---- delivery sources

  /** An ordered, unacknowledged read of the tenant's events from a position, continuing live. */
  openOrdered(sel: Selection): Promise<OrderedSource> {
    return openOrdered(this.#conn, sel);
  }

  /** Pulls from the tenant's durable consumer (a WebSocket group). */
  openDurable(consumer: DurableConsumer): Promise<AckedSource> {
    return openDurable(this.#conn, consumer);
  }

  /** A consumer of one client's own with explicit acks, deleted when the source closes. */
  openEphemeral(sel: Selection, limits: { maxAckPending: number }): Promise<AckedSource> {
    return openEphemeral(this.#conn, sel, limits);
  }

  /**
   * The tenant's durable consumer as HTTP fetches pull it: each pull answers as soon as events
   * exist (or after its wait), and every delivery carries a handle `settle` takes on any instance.
   */
  openFetch(consumer: DurableConsumer): AckedSource {
    return new HttpPullSource(this.#conn, consumer);
  }

  /** Acks or naks a pulled delivery by its handle, from any instance. */
  settle(
    handle: string,
    who: { tenant: string; consumer: string },
    action: { kind: 'ack' } | { kind: 'nak'; delayMs?: number | undefined },
  ): Promise<void> {
    const durables = [durableName(who.tenant, who.consumer), legacyDurableName(who.tenant, who.consumer)];
    return settleHandle(this.#conn, handle, { consumer: who.consumer, durables }, action);
  }

  // ---- API keys and tenant settings (the admin bucket)

  /**
   * Follows the admin bucket (once the bus is ready): `listener` gets every key and tenant in it,
   * then every change, until `stop()` or close. `loaded` resolves once the first contents arrived.
   */
  watchAdmin(listener: (change: AdminChange) => void): AdminWatch {
    let inner: RestartableWatch | undefined;
    let stopped = false;
    const loaded = this.ready.then(() => {
      if (stopped || this.#closed) return new Promise<void>(() => undefined);
      const watch = this.#adminBucket.watch(listener, () => this.#closed);
      inner = watch;
      // A server that lost its storage lost the bucket too: watch it (made again) from the start.
      this.#connection.onReconnect(() => watch.restart());
      return watch.loaded;
    });
    // Stopped once; close() awaits the same stop when a caller began it (the watch stays in
    // #adminWatches until it has stopped).
    let stopping: Promise<void> | undefined;
    const watch: AdminWatch = {
      loaded,
      stop: () => {
        stopping ??= (async () => {
          stopped = true;
          await inner?.stop();
          this.#adminWatches.delete(watch);
        })();
        return stopping;
      },
    };
    this.#adminWatches.add(watch);
    return watch;
  }

  /** Stores a new API key record (its digest, never the key). */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    this.#assertReady();
    await this.#adminBucket.putKey(record);
  }

  /** Deletes an API key record; false when there was none. */
  deleteApiKey(keyId: string): Promise<boolean> {
    this.#assertReady();
    return this.#adminBucket.deleteKey(keyId);
  }

  /** Replaces a tenant's settings; the revision they got (changes are applied in revision order). */
  putTenantSettings(tenantId: string, settings: TenantSettings): Promise<number> {
    this.#assertReady();
    return this.#adminBucket.putTenant(tenantId, settings);
  }

  #assertReady(): void {
    if (!this.#readyPublisher) throw notReady(this.#connection.config, 'The event bus is not ready yet (connecting to NATS)');
  }

  get #adminBucket(): AdminBucket {
    this.#admin ??= new AdminBucket(this.#connection);
    return this.#admin;
  }

  // ---- instances and quotas

  /**
   * Joins the instance presence (presence.ts): this instance's `state` is announced every
   * `intervalMs`, `onPeers` hears the other live instances' states. Close it before the bus.
   */
  openPresence(opts: Omit<PresenceOptions, 'bucket'>): Promise<Presence> {
    const conn = this.#conn;
    const opening = Presence.open(conn, { ...opts, bucket: presenceBucket(conn.config) });
    // Tracked until closed: a KV watch still running when the connection closes would throw
    // from its heartbeat timer, so close() stops every presence (and waits for one opening) first.
    this.#presences.add(opening);
    opening.then(
      (p) => p.closed.then(() => this.#presences.delete(opening)),
      () => this.#presences.delete(opening),
    );
    return opening;
  }

  /** How many durable consumers the tenant has (HTTP pull consumers and WebSocket groups). */
  async countConsumers(tenant: string): Promise<number> {
    try {
      return await countTenantConsumers(this.#conn, tenant);
    } catch (err) {
      throw this.translate(err);
    }
  }

  // ---- webhooks

  /** Webhook definitions (get, create, compare-and-set update, delete, list, watch) and recent attempts. */
  get webhooks(): WebhookStore {
    this.#webhooks ??= new WebhookStore(this.#conn);
    return this.#webhooks;
  }

  /** Creates the webhook's consumer or updates its types and limits; true when created now. */
  ensureWebhookConsumer(tenant: string, name: string, spec: WebhookConsumerSpec): Promise<boolean> {
    return ensureWebhookConsumer(this.#conn, tenant, name, spec);
  }

  deleteWebhookConsumer(tenant: string, name: string): Promise<boolean> {
    return deleteWebhookConsumer(this.#conn, tenant, name);
  }

  /** How far the webhook's delivery is behind; undefined when it has no consumer. */
  webhookPosition(tenant: string, name: string): Promise<WebhookPosition | undefined> {
    return webhookPosition(this.#conn, tenant, name);
  }

  /** Pulls from the webhook's consumer (GW_NOT_FOUND when it has none). */
  openWebhook(tenant: string, name: string): Promise<AckedSource> {
    return openWebhookSource(this.#conn, tenant, name);
  }

  // ---- WebSocket tickets

  /** True the first time a ticket nonce is redeemed, cluster-wide (remembered for twice WS_TICKET_TTL). */
  redeemTicketNonce(tenant: string, nonce: string): Promise<boolean> {
    this.#tickets ??= new TicketNonces(this.#conn);
    return this.#tickets.redeem(tenant, nonce);
  }

  // ---- Idempotency-Key (NATS KV; see idempotency-store.ts)

  get #keys(): IdempotencyStore {
    this.#idempotency ??= new IdempotencyStore(this.#conn);
    return this.#idempotency;
  }

  /** Claims a tenant's idempotency key for one request (atomic across instances), or says who has it. */
  claimIdempotencyKey(tenant: string, key: string, leaseMs: number): Promise<IdempotencyClaim> {
    return this.#keys.claim(tenant, key, leaseMs);
  }

  /** Stores the answer of a claimed key for IDEMPOTENCY_RETENTION; false when the claim was lost meanwhile. */
  completeIdempotencyKey(tenant: string, key: string, revision: number, answer: IdempotentAnswer): Promise<boolean> {
    return this.#keys.complete(tenant, key, revision, answer);
  }

  /** Frees a claimed key without an answer (the next request with it is processed). */
  releaseIdempotencyKey(tenant: string, key: string, revision: number): Promise<void> {
    return this.#keys.release(tenant, key, revision);
  }
}

function asDeliveredMessage(msg: Delivered): DeliveredMessage {
  const m = msg as unknown as Partial<DeliveredMessage>;
  // Every Delivered the bus hands out (a JsMsg, a pulled delivery) is one.
  if (typeof m.subject !== 'string' || !(m.data instanceof Uint8Array)) throw new TypeError('not a delivery of this bus');
  return msg as unknown as DeliveredMessage;
}
