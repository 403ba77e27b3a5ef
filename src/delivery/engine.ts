// The delivery engine: every way the gateway hands stored events to a client is one delivery,
//
//   source  →  filter  →  flow control  →  sink
//
// - Source (src/bus/, opened by src/delivery/open.ts): the instance's live feed (push, no acks),
//   an ordered consumer replaying from a position (no acks, can pause), or a consumer with explicit
//   acks (`AckedSource`: a tenant's durable consumer, an ephemeral consumer of one client, or the
//   HTTP pull of a durable consumer).
// - Filter: the tenant (an event of another tenant, or a message that is not an event, is never
//   handed out: dead-lettered as `undecodable` where there are acks), the type patterns (the
//   source's subjects, or `matches` for the live feed) and the content filter (an event it rejects
//   is acknowledged by the gateway: the client never sees it).
// - Flow control, one policy for every sink: at most `window` events in flight (unacknowledged);
//   acks either by the client (`ack`/`nak` with delay/`inProgress`/`term` by seq, or through a token
//   outside the engine) or by the engine once the sink wrote the event (`'on-write'`, nak on a
//   failed write); an event whose ack wait passed is no longer counted (JetStream redelivers it);
//   the delivery after the consumer's max deliver is dead-lettered instead of handed out; a sink
//   that is not `ready` pauses pulling sources, and makes a push source (live) call `sink.slow()`;
//   on stop, what is still in flight is nak'ed for immediate redelivery.
// - Sink: where events go. The engine knows nothing of the transport; a sink is the Sink interface
//   below. src/delivery/sinks/websocket.ts (event frames on a WebSocket connection) and
//   src/delivery/sinks/http-fetch.ts (the answer of one long-poll fetch) are the first two.
//
// A new way to deliver is ONE new file in src/delivery/sinks/ implementing Sink:
// - a webhook sink: `ready` while fewer than N requests are outstanding, `waitReady` resolves when
//   one finishes; `write` POSTs the event's `json` and calls `written()` on a 2xx, or
//   `written(err, retryAfterMs)` otherwise (the engine naks with that delay: redelivery with
//   backoff, dead-lettered after max deliver); run it on `openGroup(…)` with ack `'on-write'`.
// - an SSE sink: `ready` while the response is not over its high-water mark, `waitReady` awaits
//   'drain'; `write` writes `id: <seq>\ndata: <json>\n\n`; `slow()` ends the response. Any source
//   fits (live, replay, group with ack `'on-write'`).
// Sinks receive the event's JSON exactly as stored (one string per event, never re-encoded) and a
// lazily parsed envelope, so a sink that frames the JSON costs one string per event and nothing else.
//
// Every delivery counts what it does per sink (observe.ts: deliveries, redeliveries, acks, naks,
// dead letters) and, with tracing on, makes a consumer `process` span per event handed to the sink
// and a `settle` span per ack or nak, children of the trace context the event carries.
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import {
  type AckedSource,
  type Bus,
  type Delivered,
  type LiveEvent,
  type LiveFeed,
  type LiveListener,
  type OrderedSource,
  traceContextOf,
} from '../bus/index.ts';
import type { ContentFilter } from '../content-filter.ts';
import { GatewayError } from '../errors.ts';
import type { DeliveryCounters } from '../metrics.ts';
import { endSpan, type MessageAttributes, startProcessSpan, startSettleSpan, tracingActive } from '../tracing.ts';

/** One event as a sink receives it. The live feed's LiveEvent is one (no allocation per sink). */
export interface EventRef {
  /** Stream sequence of this delivery. */
  readonly seq: number;
  /** The stored envelope as JSON, exactly as published. */
  readonly json: string;
  /** The same as bytes, where the source has them (the live feed): sinks can skip encoding `json`. */
  readonly bytes?: Uint8Array;
  /** Parsed on first use. */
  readonly envelope: EventEnvelope;
  /** Opaque handle that settles this delivery from any instance (HTTP pull only). */
  readonly handle?: string | undefined;
  /** The subject it is stored under. */
  readonly subject?: string | undefined;
  /** The publisher's W3C trace context (a webhook sink sends it as the `traceparent` header). */
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

export interface Sink {
  /** The `sink` label of the delivery metrics; else derived from the class name (observe.ts). */
  readonly metricsName?: string;
  /** True while the receiver takes events as fast as they come. */
  readonly ready: boolean;
  /** Resolves true once `ready` again, false when the receiver is gone for good. */
  waitReady(): Promise<boolean>;
  /**
   * Hands one event to the receiver; `delivery` counts its deliveries, this one included.
   * `written`, when given, must be called once the event was handed over (no argument) or could
   * not be (`err`, and optionally when to try again): a delivery that acks on write acks or naks then.
   */
  write(event: EventRef, delivery: number, written?: (err?: Error, retryAfterMs?: number) => void): void;
  /** A push source outran the receiver (it cannot pause): end the delivery the sink's way. */
  slow(): void;
  /** The delivery failed after it started, and has stopped. */
  fail(err: GatewayError): void;
}

/** What a delivery keeps, beyond what its source selects by subject. */
export interface DeliveryFilter {
  tenant: string;
  /** Type patterns, for sources that do not select by subject (the live feed). */
  matches(type: string): boolean;
  /** Events it rejects are skipped (and acknowledged by the gateway where there are acks). */
  content: ContentFilter | undefined;
}

export interface Delivery {
  /** What kind of delivery it is: `live`, `replay`, `group`, `ephemeral`, `fetch` (metrics). */
  readonly kind?: string;
  /** Starts delivering (once the client was told the delivery exists). */
  run(): void;
  ack(seq: number): void;
  nak(seq: number, delayMs?: number): void;
  /**
   * Acks or naks a batch: what is in flight is settled; returns the indices (into `seqs`) of the
   * sequences that were not in flight.
   */
  settleMany(kind: 'ack' | 'nak', seqs: readonly number[], delayMs?: number): number[];
  /** Acks or naks every event in flight at or below `upTo` (cumulative); returns how many. */
  settleUpTo(kind: 'ack' | 'nak', upTo: number, delayMs?: number): number;
  /** Stops delivering and releases the source; unacknowledged events go back at once. */
  stop(): Promise<void>;
}

/** What a delivery logs with (a pino logger, or a Fastify request's). */
export type DeliveryLog = Pick<Logger, 'info' | 'warn'>;

export function autoAckOnly(): GatewayError {
  return new GatewayError('GW_NOT_IN_FLIGHT', 'This subscription uses ack "auto": the gateway acknowledges its events');
}

/** A delivery the gateway acknowledges itself (live, replay): every client ack or nak is refused. */
class AutoAckDelivery implements Pick<Delivery, 'ack' | 'nak' | 'settleMany' | 'settleUpTo'> {
  ack(): void {
    throw autoAckOnly();
  }

  nak(): void {
    throw autoAckOnly();
  }

  settleMany(): number[] {
    throw autoAckOnly();
  }

  settleUpTo(): number {
    throw autoAckOnly();
  }
}

/** An event of a consumer, its JSON decoded once and its envelope parsed only when asked for. */
class PulledEvent implements EventRef {
  readonly seq: number;
  readonly json: string;
  readonly handle: string | undefined;
  readonly subject: string | undefined;
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  #envelope: EventEnvelope | undefined;

  constructor(m: Delivered) {
    this.seq = m.seq;
    this.json = m.string();
    this.handle = (m as { handle?: string }).handle;
    this.subject = m.subject;
    const carried = traceContextOf(m);
    this.traceparent = carried?.traceparent;
    this.tracestate = carried?.tracestate;
  }

  get envelope(): EventEnvelope {
    this.#envelope ??= JSON.parse(this.json) as EventEnvelope;
    return this.#envelope;
  }
}

/** What the messaging span attributes say about an event (parsed only with tracing on). */
function messageOf(event: EventRef): MessageAttributes {
  let envelope: EventEnvelope | undefined;
  try {
    envelope = event.envelope;
  } catch {
    envelope = undefined;
  }
  return { subject: event.subject ?? '', id: envelope?.id ?? '', correlationId: envelope?.metadata?.correlation_id ?? '' };
}

function carriedTrace(event: EventRef) {
  return event.traceparent === undefined ? undefined : { traceparent: event.traceparent, tracestate: event.tracestate };
}

/**
 * Hands one event to the sink, counted, and with tracing on inside a `process` span (ended once
 * the sink says it was written, or at once when it does not say).
 */
function handOver(
  sink: Sink,
  counters: DeliveryCounters,
  event: EventRef,
  delivery: number,
  written?: (err?: Error, retryAfterMs?: number) => void,
): void {
  counters.delivered.inc();
  if (delivery > 1) counters.redelivered.inc();
  if (!tracingActive()) {
    sink.write(event, delivery, written);
    return;
  }
  const span = startProcessSpan(messageOf(event), carriedTrace(event), { 'messaging.nats.delivery_count': delivery });
  if (!written) {
    try {
      sink.write(event, delivery);
    } finally {
      span.end();
    }
    return;
  }
  sink.write(event, delivery, (err, retryAfterMs) => {
    endSpan(span, err);
    written(err, retryAfterMs);
  });
}

/** A `settle` span around an ack or nak of `event`, when tracing is on. */
function settleSpan(op: 'ack' | 'nak' | 'term', event: EventRef | undefined): Span | undefined {
  if (!tracingActive()) return undefined;
  return startSettleSpan(op, event && messageOf(event), event && carriedTrace(event));
}

const UNCOUNTED_INC = { inc() {} };
/** The counters of a delivery made without a bus observer (tests constructing one directly). */
const UNCOUNTED: DeliveryCounters = {
  delivered: UNCOUNTED_INC,
  redelivered: UNCOUNTED_INC,
  acked: UNCOUNTED_INC,
  nakked: UNCOUNTED_INC,
  deadLettered: UNCOUNTED_INC,
};

// ---- live: push, at most once, a slow receiver ends the delivery

/**
 * A listener on the instance's live feed: costs no JetStream consumer. The feed fans one LiveEvent
 * out to every listener; this adds no allocation per event beyond what the sink writes.
 */
export class LiveDelivery extends AutoAckDelivery implements Delivery, LiveListener {
  readonly kind = 'live';
  readonly tenant: string;
  readonly #feed: LiveFeed;
  readonly #filter: DeliveryFilter;
  readonly #sink: Sink;
  readonly #counters: DeliveryCounters;
  #state: 'new' | 'watching' | 'running' | 'stopped' = 'new';

  constructor(feed: LiveFeed, filter: DeliveryFilter, sink: Sink, counters: DeliveryCounters = UNCOUNTED) {
    super();
    this.tenant = filter.tenant;
    this.#feed = feed;
    this.#filter = filter;
    this.#sink = sink;
    this.#counters = counters;
  }

  /** Resolves once the tenant's feed is subscribed: nothing stored after this resolves is missed. */
  async open(): Promise<void> {
    this.#state = 'watching';
    await this.#feed.watch(this.tenant);
  }

  matches(type: string): boolean {
    return this.#filter.matches(type);
  }

  onEvent(event: LiveEvent): void {
    const content = this.#filter.content;
    if (content && !content.match(event.envelope)) return;
    if (!this.#sink.ready) {
      this.#sink.slow();
      return;
    }
    handOver(this.#sink, this.#counters, event, 1);
  }

  run(): void {
    if (this.#state !== 'watching') return;
    this.#state = 'running';
    this.#feed.add(this);
  }

  async stop(): Promise<void> {
    if (this.#state === 'watching') this.#feed.release(this.tenant);
    else if (this.#state === 'running') this.#feed.remove(this);
    this.#state = 'stopped';
  }
}

// ---- ordered: replay from a position, continuing live; a slow receiver pauses it

/** Messages the ordered consumer may hold client-side while the sink is paused. */
const READ_AHEAD = 64;

export class OrderedDelivery extends AutoAckDelivery implements Delivery {
  readonly kind = 'replay';
  readonly #source: OrderedSource;
  readonly #filter: DeliveryFilter;
  readonly #sink: Sink;
  readonly #bus: Bus;
  readonly #log: DeliveryLog;
  readonly #counters: DeliveryCounters;
  #stopped = false;

  constructor(
    source: OrderedSource,
    filter: DeliveryFilter,
    sink: Sink,
    bus: Bus,
    log: DeliveryLog,
    counters: DeliveryCounters = UNCOUNTED,
  ) {
    super();
    this.#source = source;
    this.#filter = filter;
    this.#sink = sink;
    this.#bus = bus;
    this.#log = log;
    this.#counters = counters;
  }

  run(): void {
    void this.#deliver().catch((err: unknown) => {
      if (this.#stopped) return;
      this.#log.warn({ err }, 'replay failed');
      this.#sink.fail(this.#bus.translate(err));
    });
  }

  async #deliver(): Promise<void> {
    if (this.#stopped) return;
    const content = this.#filter.content;
    for await (const m of await this.#source.consume(READ_AHEAD)) {
      if (this.#stopped) break;
      const event = new PulledEvent(m);
      if (content && !content.match(event.envelope)) continue;
      if (!this.#sink.ready && !(await this.#sink.waitReady())) break;
      if (this.#stopped) break;
      handOver(this.#sink, this.#counters, event, 1);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#source.close();
  }
}

// ---- acked: at least once, a window at a time, dead-lettering after max deliver

/** How long one pull of a continuous delivery waits before the loop looks around (acks, stop) again. */
const PULL_EXPIRES_MS = 5000;

export interface FlowPolicy {
  /** Most events in flight (handed to the sink, not acknowledged). */
  window: number;
  /** `client`: the receiver acks (by seq, or by token outside the engine); `on-write`: the engine acks once written. */
  ack: 'client' | 'on-write';
}

interface InFlight {
  msg: Delivered;
  at: number;
  /** What the sink got (for the settle span). */
  event: EventRef;
}

export class AckedDelivery implements Delivery {
  /** Set by whoever opens it (open.ts): `group`, `ephemeral`, `fetch`. */
  kind = 'acked';
  readonly #source: AckedSource;
  readonly #filter: DeliveryFilter;
  readonly #policy: FlowPolicy;
  readonly #sink: Sink;
  readonly #bus: Bus;
  readonly #log: DeliveryLog;
  readonly #counters: DeliveryCounters;
  readonly #inFlight = new Map<number, InFlight>();
  /** Handed out and not acknowledged, whatever its ack wait: where a lost consumer must resume. */
  readonly #unacked = new Set<number>();
  /** The highest stream sequence this delivery has seen. */
  #maxSeen = 0;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    source: AckedSource,
    filter: DeliveryFilter,
    policy: FlowPolicy,
    sink: Sink,
    bus: Bus,
    log: DeliveryLog,
    counters: DeliveryCounters = UNCOUNTED,
  ) {
    this.#source = source;
    this.#filter = filter;
    this.#policy = policy;
    this.#sink = sink;
    this.#bus = bus;
    this.#log = log;
    this.#counters = counters;
  }

  /** Acks or naks one delivery, counted (and traced when tracing is on). */
  #settle(f: InFlight, op: 'ack' | 'nak', delayMs?: number): void {
    const span = settleSpan(op, f.event);
    this.#bus.acknowledge(f.msg, op, delayMs);
    (op === 'ack' ? this.#counters.acked : this.#counters.nakked).inc();
    span?.end();
  }

  /** Delivers until stopped: a NATS outage is waited out (the consumer keeps the position). */
  run(): void {
    void this.#loop().catch((err: unknown) => {
      if (this.#stopped) return;
      this.#log.warn({ err }, 'delivery failed');
      this.#sink.fail(this.#bus.translate(err));
    });
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      try {
        await this.#pullWindow();
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        // A consumer that is gone (deleted, or a memory consumer lost with a restarted server)
        // ends the delivery; anything else is retried.
        if (await this.#source.gone()) {
          const resumeFrom = this.resumeFrom();
          throw new GatewayError(
            'GW_NOT_FOUND',
            "The subscription's consumer no longer exists (deleted, lost in a NATS restart, or its node is down); subscribe again" +
              (resumeFrom === undefined ? '' : ` from seq ${resumeFrom} (resume_from)`),
            { cause: err, resumeFrom },
          );
        }
        failures++;
        this.#log.warn({ err, failures }, 'pulling failed; retrying');
        await this.#sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #pullWindow(): Promise<void> {
    this.#forgetExpired();
    const room = this.#policy.window - this.#inFlight.size;
    if (room <= 0 || !this.#sink.ready) {
      await this.#sleep(Math.min(250, this.#source.ackWaitMs));
      return;
    }
    for await (const m of await this.#source.pull(room, PULL_EXPIRES_MS)) {
      if (this.#stopped) {
        m.nak();
        continue;
      }
      await this.#handle(m);
    }
  }

  /**
   * One bounded round (an HTTP long poll): pulls until at least one event was handed to the sink
   * or `waitMs` passed. Events the filter rejects do not end the wait. When `signal` aborts (the
   * receiver left), what was handed out is nak'ed for immediate redelivery and false is returned.
   */
  async fetch(waitMs: number, signal?: AbortSignal): Promise<boolean> {
    try {
      return await this.#fetch(waitMs, signal);
    } catch (err) {
      throw this.#bus.translate(err);
    }
  }

  async #fetch(waitMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    for (let rounds = 0; rounds < 1000; rounds++) {
      const remaining = Math.max(0, deadline - Date.now());
      const pulledAt = Date.now();
      let pulled = 0;
      for await (const m of await this.#source.pull(this.#policy.window - this.#inFlight.size, remaining)) {
        pulled++;
        await this.#handle(m);
      }
      if (signal?.aborted) {
        // JetStream cannot cancel a waiting pull: what it delivered meanwhile is handed straight
        // back rather than left until the ack wait.
        const returned = this.#inFlight.size;
        await this.stop();
        this.#log.info({ consumer: this.#source.deadLetters.durable, returned }, 'fetch abandoned by the client');
        return false;
      }
      if (this.#inFlight.size > 0 || Date.now() >= deadline) break;
      // The source ended the pull early with nothing for us (e.g. too many waiting pulls): do not spin.
      if (pulled === 0 && Date.now() - pulledAt < remaining - 50) {
        await this.#sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      }
    }
    return true;
  }

  /**
   * The lowest stream sequence not yet acknowledged: every event before it was acknowledged (by the
   * client, or by the gateway: filtered out, dead-lettered). Undefined when unknown.
   */
  resumeFrom(): number | undefined {
    let lowest: number | undefined;
    for (const seq of this.#unacked) if (lowest === undefined || seq < lowest) lowest = seq;
    if (lowest !== undefined) return lowest;
    return this.#maxSeen > 0 ? this.#maxSeen + 1 : this.#source.firstSeq;
  }

  async #handle(m: Delivered): Promise<void> {
    const delivery = m.info.deliveryCount;
    const target = this.#source.deadLetters;
    if (m.seq > this.#maxSeen) this.#maxSeen = m.seq;
    this.#inFlight.delete(m.seq);
    try {
      if (await this.#bus.deadLetterIfExhausted(m, target)) {
        this.#unacked.delete(m.seq);
        this.#counters.deadLettered.inc();
        return;
      }
    } catch (err) {
      // Not stored as a dead letter: it stays unacknowledged and is dead-lettered on a later delivery.
      this.#log.warn({ err, consumer: target.durable, seq: m.seq }, 'could not dead-letter; it will be retried');
      return;
    }
    if (this.#stopped) {
      m.nak(); // stopped meanwhile: nothing more is handed out
      return;
    }
    const event = new PulledEvent(m);
    let envelope: EventEnvelope | undefined;
    try {
      envelope = event.envelope;
    } catch {
      envelope = undefined;
    }
    // Another tenant's event cannot reach a consumer through the gateway (subjects are per tenant),
    // nor can something that is not an event: never hand either out.
    if (envelope?.tenant_id !== this.#filter.tenant) {
      this.#unacked.delete(m.seq);
      await this.#bus.deadLetter(m, target, 'undecodable').then(
        () => this.#counters.deadLettered.inc(),
        (err: unknown) => {
          this.#log.warn({ err, consumer: target.durable, seq: m.seq }, 'could not dead-letter; it will be retried');
        },
      );
      return;
    }
    const content = this.#filter.content;
    if (content && !content.match(envelope)) {
      this.#unacked.delete(m.seq);
      this.#bus.acknowledge(m, 'ack'); // filtered out: the client never sees it, so the gateway acknowledges it
      return;
    }
    const inFlight: InFlight = { msg: m, at: Date.now(), event };
    this.#inFlight.set(m.seq, inFlight);
    this.#unacked.add(m.seq);
    if (this.#policy.ack === 'client') {
      handOver(this.#sink, this.#counters, event, delivery);
      return;
    }
    handOver(this.#sink, this.#counters, event, delivery, (err, retryAfterMs) => {
      const held = this.#inFlight.get(m.seq);
      if (held?.msg !== m) return;
      this.#inFlight.delete(m.seq);
      if (err) this.#settle(inFlight, 'nak', retryAfterMs);
      else {
        this.#unacked.delete(m.seq);
        this.#settle(inFlight, 'ack');
      }
      this.#wakeUp();
    });
  }

  #forgetExpired(): void {
    const cutoff = Date.now() - this.#source.ackWaitMs;
    for (const [seq, f] of this.#inFlight) if (f.at <= cutoff) this.#inFlight.delete(seq);
  }

  #take(seq: number): InFlight {
    if (this.#policy.ack !== 'client') throw autoAckOnly();
    this.#forgetExpired();
    const f = this.#inFlight.get(seq);
    if (!f) {
      throw new GatewayError('GW_NOT_IN_FLIGHT', `No unacknowledged event at seq ${seq} (already acknowledged, or its ack wait passed)`);
    }
    this.#inFlight.delete(seq);
    this.#wakeUp();
    return f;
  }

  ack(seq: number): void {
    this.#settle(this.#take(seq), 'ack');
    this.#unacked.delete(seq);
  }

  nak(seq: number, delayMs?: number): void {
    this.#settle(this.#take(seq), 'nak', delayMs);
  }

  settleMany(kind: 'ack' | 'nak', seqs: readonly number[], delayMs?: number): number[] {
    if (this.#policy.ack !== 'client') throw autoAckOnly();
    this.#forgetExpired();
    const missing: number[] = [];
    seqs.forEach((seq, i) => {
      const f = this.#inFlight.get(seq);
      if (!f) {
        missing.push(i);
        return;
      }
      this.#inFlight.delete(seq);
      this.#settle(f, kind, delayMs);
      if (kind === 'ack') this.#unacked.delete(seq);
    });
    if (missing.length < seqs.length) this.#wakeUp();
    return missing;
  }

  settleUpTo(kind: 'ack' | 'nak', upTo: number, delayMs?: number): number {
    if (this.#policy.ack !== 'client') throw autoAckOnly();
    this.#forgetExpired();
    let settled = 0;
    for (const [seq, f] of this.#inFlight) {
      if (seq > upTo) continue;
      this.#inFlight.delete(seq);
      this.#settle(f, kind, delayMs);
      if (kind === 'ack') this.#unacked.delete(seq);
      settled++;
    }
    if (settled > 0) this.#wakeUp();
    return settled;
  }

  /** Never redeliver it (the receiver can never process it). */
  term(seq: number, reason?: string): void {
    const f = this.#take(seq);
    const span = settleSpan('term', f.event);
    f.msg.term(reason);
    span?.end();
    this.#unacked.delete(seq);
  }

  /** The receiver is still working on it: its ack wait starts again. */
  inProgress(seq: number): void {
    if (this.#policy.ack !== 'client') throw autoAckOnly();
    const f = this.#inFlight.get(seq);
    if (!f) throw new GatewayError('GW_NOT_IN_FLIGHT', `No unacknowledged event at seq ${seq}`);
    f.at = Date.now();
    f.msg.working();
  }

  /** Forgets what is in flight without nak'ing it: its receiver settles it elsewhere (ack tokens). */
  release(): void {
    this.#inFlight.clear();
    this.#unacked.clear();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#source.stopPull();
    this.#wakeUp();
    for (const f of this.#inFlight.values()) this.#settle(f, 'nak');
    this.#inFlight.clear();
    await this.#source.close();
  }
}
