// The JetStream consumers deliveries read from, as sources that speak the domain:
// - OrderedSource: an ordered consumer from a position (WebSocket replay), unacknowledged, which
//   nats.js recreates after any gap or reconnect; memory-stored and deleted when the reader stops.
// - PullSource: a consumer with explicit acks (a tenant's durable consumer, or an ephemeral one
//   made for one client), pulled at most a window at a time.
// Durable consumers themselves (definitions shared by WebSocket groups and HTTP consumers) are in
// durable-consumers.ts.
import { AckPolicy, type Consumer, type ConsumerMessages } from '@nats-io/jetstream';
import { nanos, nuid } from '@nats-io/transport-node';
import type { BusContext } from './context.ts';
import type { AckedSource, DeadLetterTarget, Delivered } from './delivered.ts';
import { DEAD_LETTER_ATTEMPTS, type DurableConsumer, type StartFrom, startPosition } from './durable-consumers.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';
import { typePatternSubjects } from './subjects.ts';

/**
 * An ephemeral consumer outlives a crashed gateway by at most this. Longer than any pause of a
 * subscription (a paused one still pulls at least once per ack wait), like nats.js's ordered consumers.
 */
const EPHEMERAL_INACTIVE_MS = 5 * 60_000;

/** What a source reads: the tenant's events of these type patterns, from a position. */
export interface Selection {
  tenant: string;
  types: string[];
  from: StartFrom;
}

export class OrderedSource {
  readonly #consumer: Consumer;
  #messages: ConsumerMessages | undefined;

  constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  /** The events in stream order, holding at most `readAhead` client-side while the reader is slow. */
  async consume(readAhead: number): Promise<AsyncIterable<Delivered>> {
    this.#messages = await this.#consumer.consume({ max_messages: readAhead });
    return this.#messages;
  }

  /** Stops reading and deletes the consumer. */
  async close(): Promise<void> {
    this.#messages?.stop();
    await this.#consumer.delete().catch(() => undefined);
  }
}

export async function openOrdered(ctx: BusContext, sel: Selection): Promise<OrderedSource> {
  try {
    const consumer = await ctx.js.consumers.get(ctx.config.STREAM_NAME, {
      name_prefix: `gw_ws_${sel.tenant}_${nuid.next()}`,
      filter_subjects: typePatternSubjects(ctx.config.STREAM_SUBJECT_PREFIX, sel.tenant, sel.types),
      ...startPosition(sel.from),
    });
    return new OrderedSource(consumer);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}

export class PullSource implements AckedSource {
  /** Where the deliveries this source's consumer gave up on are dead-lettered. */
  readonly deadLetters: DeadLetterTarget;
  readonly ackWaitMs: number;
  readonly #ctx: BusContext;
  readonly #consumer: Consumer;
  readonly #ephemeral: boolean;
  #batch: ConsumerMessages | undefined;

  constructor(ctx: BusContext, consumer: Consumer, deadLetters: DeadLetterTarget, ackWaitMs: number, ephemeral: boolean) {
    this.#ctx = ctx;
    this.#consumer = consumer;
    this.deadLetters = deadLetters;
    this.ackWaitMs = ackWaitMs;
    this.#ephemeral = ephemeral;
  }

  /** One pull: up to `max` deliveries, waiting at most `expiresMs` for them. */
  async pull(max: number, expiresMs: number): Promise<AsyncIterable<Delivered>> {
    try {
      this.#batch = await this.#consumer.fetch({ max_messages: max, expires: expiresMs });
      return this.#batch;
    } catch (err) {
      throw translate(err, this.#ctx.config);
    }
  }

  /** True when the consumer no longer exists (deleted, or a memory consumer lost in a NATS restart). */
  async gone(): Promise<boolean> {
    try {
      await this.#ctx.jsm.consumers.info(this.#ctx.config.STREAM_NAME, this.deadLetters.durable);
      return false;
    } catch (err) {
      return isApiError(err, JetStreamApiCodes.ConsumerNotFound);
    }
  }

  /** An ephemeral consumer is deleted, a durable one stays. */
  async close(): Promise<void> {
    this.#batch?.stop();
    if (this.#ephemeral) {
      await this.#ctx.jsm.consumers.delete(this.#ctx.config.STREAM_NAME, this.deadLetters.durable).catch(() => undefined);
    }
  }

  /** Ends the pull in progress only. */
  stopPull(): void {
    this.#batch?.stop();
  }
}

export async function openDurable(ctx: BusContext, durable: DurableConsumer): Promise<PullSource> {
  try {
    const consumer = await ctx.js.consumers.get(ctx.config.STREAM_NAME, durable.durable);
    return new PullSource(ctx, consumer, durable, durable.ackWaitMs, false);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}

/**
 * A consumer of one client's own, with explicit acks and the configured ack wait and max deliver;
 * deleted when the source closes, and by JetStream after EPHEMERAL_INACTIVE_MS should we crash.
 */
export async function openEphemeral(ctx: BusContext, sel: Selection, limits: { maxAckPending: number }): Promise<PullSource> {
  const { config } = ctx;
  const id = nuid.next();
  const name = `gw_ws_${sel.tenant}_${id}`;
  const ackWaitMs = config.CONSUMER_ACK_WAIT;
  const maxDeliver = config.CONSUMER_MAX_DELIVER;
  try {
    await ctx.jsm.consumers.add(config.STREAM_NAME, {
      name,
      ack_policy: AckPolicy.Explicit,
      ...startPosition(sel.from),
      filter_subjects: typePatternSubjects(config.STREAM_SUBJECT_PREFIX, sel.tenant, sel.types),
      ack_wait: nanos(ackWaitMs),
      // Deliveries beyond what a client gets are dead-lettered (and spare ones retry a failed
      // dead-letter publish), exactly as for durable consumers.
      max_deliver: maxDeliver + DEAD_LETTER_ATTEMPTS,
      max_ack_pending: limits.maxAckPending,
      inactive_threshold: nanos(EPHEMERAL_INACTIVE_MS),
      mem_storage: true,
      num_replicas: 1,
    });
    const consumer = await ctx.js.consumers.get(config.STREAM_NAME, name);
    // Its dead letters are kept under the name `ws_<id>` for inspection (nobody redrives to it).
    return new PullSource(ctx, consumer, { tenant: sel.tenant, name: `ws_${id}`, durable: name, maxDeliver }, ackWaitMs, true);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}
