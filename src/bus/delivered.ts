// One delivery of a stored event by a JetStream consumer, as code outside the bus handles it: its
// position, how often it was delivered, the envelope's JSON, and the four acknowledgements. A
// nats.js `JsMsg` is one as it is (no wrapper on the WebSocket paths); the HTTP pull hands out
// PulledDelivery, which also carries an opaque handle that acks it from any gateway instance.

export interface Delivered {
  /** Stream sequence. */
  readonly seq: number;
  readonly info: { readonly deliveryCount: number };
  /** The stored envelope as JSON, exactly as published. */
  string(): string;
  ack(): void;
  /** Redeliver, after `delayMs` when given. */
  nak(delayMs?: number): void;
  /** Never deliver again. */
  term(reason?: string): void;
  /** Still being worked on: restarts the ack wait. */
  working(): void;
  /** The subject it is stored under (every delivery of the bus has it). */
  readonly subject?: string;
  /**
   * The NATS headers it was stored with: among them the publisher's `traceparent` / `tracestate`
   * (read them with `traceContextOf`).
   */
  readonly headers?: { get(key: string): string } | undefined;
}

/** The W3C trace context of the publisher that a delivery carries (its `traceparent` / `tracestate` headers). */
export interface CarriedTrace {
  traceparent: string;
  tracestate?: string | undefined;
}

/** The trace context a delivery carries, or undefined when it was published without one. */
export function traceContextOf(d: Pick<Delivered, 'headers'>): CarriedTrace | undefined {
  const traceparent = d.headers?.get('traceparent');
  if (!traceparent) return undefined;
  const tracestate = d.headers?.get('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

export interface PulledDelivery extends Delivered {
  /** Opaque: settles this delivery from any gateway instance (see Bus.settle). */
  readonly handle: string;
}

/** Who a consumer's deliveries belong to, and where the ones it gave up on are dead-lettered. */
export interface DeadLetterTarget {
  tenant: string;
  /** The consumer's name as the tenant knows it (dead letters are listed under it). */
  name: string;
  /** The JetStream consumer name. */
  durable: string;
  /** Deliveries a client may get; a message delivered more often is dead-lettered. */
  maxDeliver: number;
  /**
   * When the JetStream consumer was created. Part of the dedupe key, so a consumer deleted and
   * made again (same name) that exhausts the same event again stores a second dead letter.
   */
  created?: string | undefined;
}

/** A consumer with explicit acks that a delivery pulls from, a window at a time. */
export interface AckedSource {
  readonly deadLetters: DeadLetterTarget;
  /** How long a delivery may stay unacknowledged before JetStream redelivers it. */
  readonly ackWaitMs: number;
  /** One pull: up to `max` deliveries, waiting at most `waitMs` (answering as soon as the source allows). */
  pull(max: number, waitMs: number): Promise<AsyncIterable<Delivered> | Iterable<Delivered>>;
  /** Ends the pull in progress, if the source can. */
  stopPull(): void;
  /**
   * True when the consumer no longer exists (deleted, or lost in a NATS restart), or, for a consumer
   * of one client (R1, memory), cannot be reached while NATS is connected (its node died).
   */
  gone(): Promise<boolean>;
  /** The first stream sequence the consumer was to deliver, where known (a consumer of one client). */
  readonly firstSeq?: number | undefined;
  /** Releases the source: an ephemeral consumer is deleted, a durable one stays. */
  close(): Promise<void>;
}
