// The JetStream consumers deliveries read from, as sources that speak the domain:
// - OrderedSource: an ordered consumer from a position (WebSocket replay), unacknowledged, which
//   nats.js recreates after any gap or reconnect; memory-stored and deleted when the reader stops.
// - PullSource: a consumer with explicit acks (a tenant's durable consumer, or an ephemeral one
//   made for one client), pulled at most a window at a time.
// Durable consumers themselves (definitions shared by WebSocket groups and HTTP consumers) are in
// durable-consumers.ts.
import { AckPolicy, type Consumer, type ConsumerMessages, DeliverPolicy, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { GatewayError } from '../errors.ts';
import { nanos, nuid } from '@nats-io/transport-node';
import type { BusContext } from './context.ts';
import type { AckedSource, DeadLetterTarget, Delivered } from './delivered.ts';
import { DEAD_LETTER_ATTEMPTS, type DurableConsumer, type StartFrom, startPosition } from './durable-consumers.ts';
import { isApiError, isUnanswered, JetStreamApiCodes, translate } from './errors.ts';
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

/** A replay's consumer silent (no event, no heartbeat) for this many heartbeats is taken as lost. */
const STALL_HEARTBEATS = 3;
/** How long a replay keeps trying to recreate a lost consumer while connected before it fails. */
const RECREATE_DEADLINE_MS = 30_000;

type OrderedOptions = Partial<OrderedConsumerOptions> & Pick<OrderedConsumerOptions, 'name_prefix' | 'filter_subjects'>;

/**
 * The events of an ordered consumer, in stream order, continuing live. nats.js recreates an ordered
 * consumer after a gap or a reconnect, but one whose (R1, memory) consumer lived on a cluster node
 * that died can stay silent for a minute or more: its consumer-info probe times out and backs off.
 * This source watches for that itself (no event and no idle heartbeat for STALL_HEARTBEATS
 * heartbeats while it waits for the next event) and recreates the consumer from the last sequence it
 * handed out + 1: no gap, no duplicate. When recreating keeps failing while NATS is connected, the
 * read fails with a resume position.
 */
export class OrderedSource {
  readonly #ctx: BusContext;
  readonly #opts: OrderedOptions;
  #consumer: Consumer;
  #messages: ConsumerMessages | undefined;
  #readAhead = 1;
  /** The last stream sequence handed out. */
  #lastSeq = 0;
  #closed = false;
  #stalled = false;
  /** When the consumer last said something (an event or an idle heartbeat). */
  #lastHeard = 0;
  /** Since when this source has been waiting for the consumer's next event (undefined: not waiting). */
  #waitingSince: number | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(ctx: BusContext, consumer: Consumer, opts: OrderedOptions) {
    this.#ctx = ctx;
    this.#consumer = consumer;
    this.#opts = opts;
  }

  /** The events in stream order, holding at most `readAhead` client-side while the reader is slow. */
  async consume(readAhead: number): Promise<AsyncIterable<Delivered>> {
    this.#readAhead = readAhead;
    this.#messages = await this.#consumeNow();
    return this.#iterate();
  }

  #consumeNow(): Promise<ConsumerMessages> {
    const heartbeat = this.#ctx.config.WS_CONSUMER_HEARTBEAT;
    return this.#consumer.consume({ max_messages: this.#readAhead, idle_heartbeat: heartbeat, expires: Math.max(5000, 4 * heartbeat) });
  }

  async *#iterate(): AsyncGenerator<Delivered> {
    for (;;) {
      const messages = this.#messages as ConsumerMessages;
      this.#watch(messages);
      let failure: unknown;
      try {
        const it = messages[Symbol.asyncIterator]();
        for (;;) {
          // Waiting on the consumer from here until it answers: the watchdog's window.
          this.#waitingSince = Date.now();
          const next = await it.next();
          this.#waitingSince = undefined;
          if (next.done) break;
          const m = next.value;
          this.#lastHeard = Date.now();
          if (m.seq <= this.#lastSeq) continue; // never twice, whatever a recreated consumer resends
          this.#lastSeq = m.seq;
          yield m;
        }
      } catch (err) {
        failure = err;
      } finally {
        this.#waitingSince = undefined;
        clearInterval(this.#watchdog);
      }
      if (this.#closed) return;
      // Silent, failed or ended under us (nats.js gave up on it): a new consumer takes over.
      this.#ctx.log.warn(
        { err: failure, silent: this.#stalled, consumer: this.#opts.name_prefix, after_seq: this.#lastSeq },
        'replay consumer lost; recreating it',
      );
      await this.#recreate();
      if (this.#closed) return;
    }
  }

  /**
   * Ends the consumer's iteration (to recreate it) when this source has been waiting on it for
   * STALL_HEARTBEATS heartbeats and it said nothing (no event, no idle heartbeat) all that time. A
   * slow reader holding an event is not waiting on the consumer, so it is never taken for a stall.
   * (nats.js's own count of what is pending cannot tell: it stays above zero after a pull request
   * went out, which once hid every stall from this watchdog.)
   */
  #watch(messages: ConsumerMessages): void {
    const heartbeat = this.#ctx.config.WS_CONSUMER_HEARTBEAT;
    this.#lastHeard = Date.now();
    void (async () => {
      for await (const s of messages.status()) if (s.type === 'heartbeat') this.#lastHeard = Date.now();
    })().catch(() => undefined);
    this.#stalled = false;
    this.#watchdog = setInterval(() => {
      const waitingSince = this.#waitingSince;
      if (waitingSince === undefined || !this.#ctx.connected) {
        // Handing an event to a (maybe slow) reader, or NATS is away (nats.js resumes after a reconnect).
        this.#lastHeard = Date.now();
        return;
      }
      if (Date.now() - Math.max(this.#lastHeard, waitingSince) < STALL_HEARTBEATS * heartbeat) return;
      clearInterval(this.#watchdog);
      this.#stalled = true;
      messages.stop();
    }, heartbeat);
    this.#watchdog.unref();
  }

  /** A new ordered consumer from the last sequence handed out + 1, retried until it works. */
  async #recreate(): Promise<void> {
    const old = this.#consumer;
    void old.delete().catch(() => undefined);
    const resumeFrom = this.#lastSeq + 1;
    // Nothing handed out yet: from the original start again.
    const from: Partial<OrderedConsumerOptions> =
      this.#lastSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeFrom } : {};
    let failingSince: number | undefined;
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        // A fresh name each time: an attempt that timed out may still have created its consumer.
        const name_prefix = `${this.#opts.name_prefix}_${nuid.next().slice(-6)}`;
        this.#consumer = await this.#ctx.js.consumers.get(this.#ctx.config.STREAM_NAME, { ...this.#opts, ...from, name_prefix });
        this.#messages = await this.#consumeNow();
        this.#ctx.log.info({ after_seq: this.#lastSeq, attempts: attempt + 1 }, 'replay consumer recreated');
        return;
      } catch (err) {
        this.#ctx.log.info({ err, attempt }, 'recreating a replay consumer failed; retrying');
        const now = Date.now();
        if (!this.#ctx.connected) failingSince = undefined;
        else failingSince ??= now;
        if (failingSince !== undefined && now - failingSince > RECREATE_DEADLINE_MS) {
          throw new GatewayError(
            'GW_NATS_UNAVAILABLE',
            'The replay lost its consumer and could not recreate it; subscribe again from resume_from',
            {
              cause: err,
              resumeFrom,
            },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /** Stops reading and deletes the consumer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#messages?.stop();
    await this.#consumer.delete().catch(() => undefined);
  }
}

export async function openOrdered(ctx: BusContext, sel: Selection): Promise<OrderedSource> {
  try {
    const opts = {
      name_prefix: `gw_ws_${sel.tenant}_${nuid.next()}`,
      filter_subjects: typePatternSubjects(ctx.config.STREAM_SUBJECT_PREFIX, sel.tenant, sel.types),
      ...startPosition(sel.from),
    } as OrderedOptions;
    const consumer = await ctx.js.consumers.get(ctx.config.STREAM_NAME, opts);
    return new OrderedSource(ctx, consumer, opts);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}

export class PullSource implements AckedSource {
  /** Where the deliveries this source's consumer gave up on are dead-lettered. */
  readonly deadLetters: DeadLetterTarget;
  readonly ackWaitMs: number;
  readonly firstSeq: number | undefined;
  readonly #ctx: BusContext;
  readonly #consumer: Consumer;
  readonly #ephemeral: boolean;
  #batch: ConsumerMessages | undefined;

  constructor(
    ctx: BusContext,
    consumer: Consumer,
    deadLetters: DeadLetterTarget,
    ackWaitMs: number,
    ephemeral: boolean,
    firstSeq?: number,
  ) {
    this.firstSeq = firstSeq;
    this.#ctx = ctx;
    this.#consumer = consumer;
    this.deadLetters = deadLetters;
    this.ackWaitMs = ackWaitMs;
    this.#ephemeral = ephemeral;
  }

  /** One pull: up to `max` deliveries, waiting at most `expiresMs` for them. */
  async pull(max: number, expiresMs: number): Promise<AsyncIterable<Delivered>> {
    try {
      // Heartbeats find a consumer that went silent (its node died) within two of them.
      const heartbeat = Math.min(this.#ctx.config.WS_CONSUMER_HEARTBEAT, Math.floor(expiresMs / 2));
      const batch = await this.#consumer.fetch(
        heartbeat >= 500 ? { max_messages: max, expires: expiresMs, idle_heartbeat: heartbeat } : { max_messages: max, expires: expiresMs },
      );
      this.#batch = batch;
      // nats.js stops watching heartbeats while reconnecting and may then wait on a consumer that
      // no longer answers: a pull never outlives its expiry by more than a few heartbeats.
      const limit = setTimeout(
        () => (batch as unknown as { stop(err?: Error): void }).stop(new Error('the pull outlived its expiry: the consumer is silent')),
        expiresMs + 3 * Math.max(heartbeat, 500),
      );
      limit.unref();
      void batch.closed().then(
        () => clearTimeout(limit),
        () => clearTimeout(limit),
      );
      return batch;
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
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return true;
      // A consumer of one client has one replica: unanswered while NATS answers us, its node is gone.
      return this.#ephemeral && this.#ctx.connected && isUnanswered(err);
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
    const info = await ctx.jsm.consumers.add(config.STREAM_NAME, {
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
    const target = { tenant: sel.tenant, name: `ws_${id}`, durable: name, maxDeliver };
    return new PullSource(ctx, consumer, target, ackWaitMs, true, info.delivered.stream_seq + 1);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}
