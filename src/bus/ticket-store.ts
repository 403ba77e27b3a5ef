// Single use of WebSocket tickets, cluster-wide: redeeming publishes the ticket's nonce (as the
// message id) to the ticket stream, whose duplicate window outlives every ticket, and JetStream
// answers a second redemption `duplicate`. The stream (streams.ts, ticketStream) is file-stored
// with the event stream's replica count, created at start and after each reconnect with the other
// streams: a redemption works while a quorum of its replicas is up, and a used nonce stays used
// across nats-server restarts (JetStream rebuilds its duplicate window from the stored messages).
// The tickets themselves (HMAC signing) are not the bus's business: see src/websocket/tickets.ts.
import type { BusContext } from './context.ts';
import { translate } from './errors.ts';
import { ensureTicketStream } from './streams.ts';
import { ticketSubject } from './subjects.ts';

export class TicketNonces {
  readonly #ctx: BusContext;

  constructor(ctx: BusContext) {
    this.#ctx = ctx;
  }

  /** True the first time a nonce is redeemed, false every later time (on any instance). */
  async redeem(tenant: string, nonce: string): Promise<boolean> {
    const { js, config, log } = this.#ctx;
    try {
      const ack = await js.publish(ticketSubject(config.STREAM_SUBJECT_PREFIX, tenant), '', {
        msgID: nonce,
        timeout: config.PUBLISH_TIMEOUT_MS,
      });
      return !ack.duplicate;
    } catch (err) {
      // The stream can vanish with a NATS server that lost its storage: make it again for the next
      // redemption (the reconnect does too), and answer this one 503.
      ensureTicketStream(this.#ctx).catch((e: unknown) => log.warn({ err: e }, 'could not ensure the ticket stream'));
      throw translate(err, config);
    }
  }
}
