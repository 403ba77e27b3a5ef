// HTTP pull consumers: long-poll fetches and acks, stateless on the gateway side. Any instance
// serves any call: the consumer (types, filter, limits) is read from JetStream, the position lives
// in JetStream, and an ack token carries the delivery's opaque handle (ack-tokens.ts), so the
// instance that acks need not be the one that fetched.
//
// Each delivery is, in order: dead-lettered when exhausted, acked and dropped when the content
// filter rejects it, or returned.
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { FetchedEvent as FetchedEventSchema } from '../../schemas/consumers.ts';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import type { AckTokens } from '../ack-tokens.ts';
import type { Bus, DurableConsumer } from '../bus/index.ts';
import { type ErrorCode, GatewayError } from '../errors.ts';

export type FetchedEvent = Static<typeof FetchedEventSchema>;

/**
 * Fetches up to `max` events for the consumer, waiting up to `waitMs` for the first one. Answers
 * as soon as at least one deliverable event arrived; events only the filter rejects do not end the
 * wait. Every returned event carries an ack token signed by `tokens`. When `signal` aborts (the HTTP
 * client left), whatever arrives is nak-ed for immediate redelivery instead of returned.
 */
export async function fetchEvents(
  bus: Bus,
  consumer: DurableConsumer,
  opts: { max: number; waitMs: number; signal?: AbortSignal | undefined; log: Pick<Logger, 'info' | 'warn'> },
  tokens: AckTokens,
): Promise<FetchedEvent[]> {
  const deadline = Date.now() + opts.waitMs;
  const out: FetchedEvent[] = [];
  const taken: { nak(): void }[] = [];
  for (let rounds = 0; rounds < 1000; rounds++) {
    const remaining = Math.max(0, deadline - Date.now());
    const pulledAt = Date.now();
    const msgs = await bus.pull(consumer, opts.max - out.length, remaining);
    for (const m of msgs) {
      let event: EventEnvelope | undefined;
      try {
        if (await bus.deadLetterIfExhausted(m, consumer)) continue;
        try {
          event = JSON.parse(m.string()) as EventEnvelope;
        } catch {
          event = undefined;
        }
        // A foreign tenant cannot happen through the gateway (subjects are per tenant); never hand it out.
        if (event?.tenant_id !== consumer.tenant) {
          await bus.deadLetter(m, consumer, 'undecodable');
          continue;
        }
      } catch (err) {
        // The dead letter was not stored: leave the delivery unacked, so it comes back after the
        // ack wait and is dead-lettered then, and still answer what was fetched.
        opts.log.warn({ err, consumer: consumer.durable, seq: m.seq }, 'could not dead-letter; it will be retried');
        continue;
      }
      if (!consumer.matcher.match(event)) {
        m.ack(); // filtered out: the client never sees it, so the gateway acknowledges it
        continue;
      }
      // The token dies when JetStream would redeliver: JetStream's timer started when it sent the
      // event, a little before we received it, so keep a small margin.
      const expiresAt = Date.now() + consumer.ackWaitMs - Math.min(250, consumer.ackWaitMs / 10);
      taken.push(m);
      out.push({
        seq: m.seq,
        delivery: m.info.deliveryCount,
        ack_token: tokens.sign({ tenant: consumer.tenant, consumer: consumer.name, reply: m.handle, expiresAt }),
        ack_deadline: new Date(expiresAt).toISOString(),
        event,
      });
    }
    if (opts.signal?.aborted) {
      // The client went away during the long poll: JetStream cannot cancel a waiting pull, so what
      // it delivered meanwhile is handed straight back rather than left until the ack wait.
      for (const m of taken) m.nak();
      opts.log.info({ consumer: consumer.durable, returned: taken.length }, 'fetch abandoned by the client');
      return [];
    }
    if (out.length > 0 || Date.now() >= deadline) break;
    // JetStream ended the request early with nothing for us (e.g. too many waiting pulls): do not spin.
    if (msgs.length === 0 && Date.now() - pulledAt < remaining - 50) {
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
  }
  return out;
}

export type AckOutcome = { ok: true } | { ok: false; error: { code: ErrorCode; message: string } };

/**
 * Acks or naks (optionally redelivered after `delayMs`) one delivery through its token. A token
 * that fails verification never reaches NATS.
 */
export async function settle(
  bus: Bus,
  tokens: AckTokens,
  token: unknown,
  who: { tenant: string; consumer: string },
  action: { kind: 'ack' } | { kind: 'nak'; delayMs?: number | undefined },
): Promise<AckOutcome> {
  try {
    const claims = tokens.verify(token, who.tenant, who.consumer);
    await bus.settle(claims.reply, who, action);
    return { ok: true };
  } catch (err) {
    const e = err instanceof GatewayError ? err : bus.translate(err);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
