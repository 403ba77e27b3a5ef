// Single use of WebSocket tickets, cluster-wide: redeeming publishes the ticket's nonce (as the
// message id) to a small memory stream whose duplicate window outlives every ticket, and JetStream
// answers a second redemption `duplicate`. The tickets themselves (HMAC signing) are not the bus's
// business: see src/websocket/tickets.ts.
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { BusContext } from './context.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';
import { ticketSubject } from './subjects.ts';

export class TicketNonces {
  readonly #ctx: BusContext;
  readonly #ttlMs: number;
  readonly #stream: string;
  #streamReady: Promise<void> | undefined;

  /** `ttlMs`: how long a ticket is valid; a nonce is remembered twice as long. */
  constructor(ctx: BusContext, ttlMs: number) {
    this.#ctx = ctx;
    this.#ttlMs = ttlMs;
    this.#stream = `${ctx.config.STREAM_NAME}_WS_TICKETS`;
  }

  /** True the first time a nonce is redeemed, false every later time (on any instance). */
  async redeem(tenant: string, nonce: string): Promise<boolean> {
    await this.#ensureStream();
    try {
      const ack = await this.#ctx.js.publish(ticketSubject(this.#ctx.config.STREAM_SUBJECT_PREFIX, tenant), '', { msgID: nonce });
      return !ack.duplicate;
    } catch (err) {
      // The stream can vanish with a NATS server that lost its storage: make it again next time.
      this.#streamReady = undefined;
      throw translate(err, this.#ctx.config);
    }
  }

  #ensureStream(): Promise<void> {
    this.#streamReady ??= this.#createStream().catch((err: unknown) => {
      this.#streamReady = undefined;
      throw translate(err, this.#ctx.config);
    });
    return this.#streamReady;
  }

  async #createStream(): Promise<void> {
    const { jsm, config } = this.#ctx;
    // Used nonces only need remembering while their ticket could still be presented.
    const window = nanos(this.#ttlMs * 2);
    const settings = {
      name: this.#stream,
      subjects: [ticketSubject(config.STREAM_SUBJECT_PREFIX, '>')],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      max_age: window,
      duplicate_window: window,
      num_replicas: 1,
    };
    try {
      await jsm.streams.add(settings);
    } catch (err) {
      // It exists (another instance made it); keep its window in step with ours.
      if (!isApiError(err, JetStreamApiCodes.StreamNameInUse)) throw err;
      await jsm.streams.update(this.#stream, settings);
    }
  }
}
