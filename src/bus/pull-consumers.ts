// HTTP pull consumers on JetStream: long-poll fetches and acks, stateless on the gateway side.
// Any instance serves any call: the consumer (types, filter, limits) is read from JetStream
// (durable-consumers.ts), the position lives in JetStream, and an ack token carries the delivery's
// reply subject (ack-tokens.ts), so the instance that acks need not be the one that fetched.
//
// A fetch sends JetStream pull requests with `no_wait` and `expires`: the server holds the request
// while the consumer has nothing, but answers as soon as events are there (a plain `expires` pull
// would wait for the whole batch). Each delivery is then, in order: dead-lettered when exhausted
// (dead-letters.ts), acked and dropped when the content filter rejects it, or returned.
import { createInbox, type Msg, NoRespondersError, nanos } from '@nats-io/transport-node';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import type { AckTokens } from '../ack-tokens.ts';
import { type ErrorCode, GatewayError } from '../errors.ts';
import { type DeliveredMessage, deadLetter, deadLetterIfExhausted } from './dead-letters.ts';
import type { DurableConsumer } from './durable-consumers.ts';
import type { EventBus } from './event-bus.ts';

export interface FetchedEvent {
  /** Stream sequence of the delivery (a redriven dead letter has a new one). */
  seq: number;
  /** How many times this event was delivered to the consumer, this time included. */
  delivery: number;
  ack_token: string;
  /** The token is refused after this time; the event is then redelivered. */
  ack_deadline: string;
  event: EventEnvelope;
}

/** Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (and the 12-token form with domain and account). */
export function parseAckSubject(
  reply: string,
): { stream: string; consumer: string; deliveryCount: number; streamSequence: number } | undefined {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  const at = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (at < 0) return undefined;
  const deliveryCount = Number(t[at + 2]);
  const streamSequence = Number(t[at + 3]);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSequence)) return undefined;
  return { stream: t[at] as string, consumer: t[at + 1] as string, deliveryCount, streamSequence };
}

/** A core message of a pull as the `DeliveredMessage` dead-lettering and acking work on. */
function delivered(bus: EventBus, m: Msg, info: { deliveryCount: number; streamSequence: number }): DeliveredMessage {
  return {
    subject: m.subject,
    data: m.data,
    headers: m.headers,
    info,
    term: (reason?: string) => bus.nc.publish(m.reply as string, reason ? `+TERM ${reason}` : '+TERM'),
  };
}

/**
 * One pull request: up to `batch` deliveries, waiting at most `waitMs` for the first. Resolves
 * early when JetStream ends the request (404 no messages, 408 timeout, 409 e.g. consumer deleted).
 */
async function pull(bus: EventBus, durable: string, batch: number, waitMs: number): Promise<Msg[]> {
  const inbox = createInbox();
  const sub = bus.nc.subscribe(inbox, { max: batch + 8 });
  const request = waitMs >= 1 ? { batch, no_wait: true, expires: nanos(waitMs) } : { batch, no_wait: true };
  // Should JetStream never end the request (it always does), stop listening anyway.
  const guard = setTimeout(() => sub.unsubscribe(), waitMs + 2000);
  const out: Msg[] = [];
  try {
    bus.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${bus.config.STREAM_NAME}.${durable}`, JSON.stringify(request), { reply: inbox });
    for await (const m of sub) {
      if (m.reply?.startsWith('$JS.ACK.')) {
        out.push(m);
        if (out.length >= batch) break;
        continue;
      }
      const code = m.headers?.code ?? 0;
      if (code === 100) continue; // heartbeat
      if (code === 503) throw bus.unavailable('JetStream is not answering pull requests');
      if (code === 409 && /deleted/i.test(m.headers?.description ?? '')) {
        throw new GatewayError('GW_NOT_FOUND', 'The consumer was deleted while fetching');
      }
      break; // 404 / 408 / other 409s: the request is over
    }
  } catch (err) {
    throw err instanceof GatewayError ? err : bus.translate(err);
  } finally {
    clearTimeout(guard);
    sub.unsubscribe();
  }
  return out;
}

/**
 * Fetches up to `max` events for the consumer, waiting up to `waitMs` for the first one. Answers
 * as soon as at least one deliverable event arrived; events only the filter rejects do not end the
 * wait. Every returned event carries an ack token signed by `tokens`. When `signal` aborts (the HTTP
 * client left), whatever arrives is nak-ed for immediate redelivery instead of returned.
 */
export async function fetchEvents(
  bus: EventBus,
  consumer: DurableConsumer,
  opts: { max: number; waitMs: number; signal?: AbortSignal | undefined },
  tokens: AckTokens,
): Promise<FetchedEvent[]> {
  const deadline = Date.now() + opts.waitMs;
  const out: FetchedEvent[] = [];
  const replies: string[] = [];
  for (let rounds = 0; rounds < 1000; rounds++) {
    const remaining = Math.max(0, deadline - Date.now());
    const pulledAt = Date.now();
    const msgs = await pull(bus, consumer.durable, opts.max - out.length, remaining);
    for (const m of msgs) {
      const info = parseAckSubject(m.reply as string);
      if (!info) continue;
      const msg = delivered(bus, m, info);
      let event: EventEnvelope | undefined;
      try {
        if (await deadLetterIfExhausted(bus, msg, consumer)) continue;
        try {
          event = JSON.parse(new TextDecoder().decode(m.data)) as EventEnvelope;
        } catch {
          event = undefined;
        }
        // A foreign tenant cannot happen through the gateway (subjects are per tenant); never hand it out.
        if (event?.tenant_id !== consumer.tenant) {
          await deadLetter(bus, msg, consumer, 'undecodable');
          continue;
        }
      } catch (err) {
        // The dead letter was not stored: leave the delivery unacked, so it comes back after the
        // ack wait and is dead-lettered then, and still answer what was fetched.
        bus.log.warn({ err, consumer: consumer.durable, seq: info.streamSequence }, 'could not dead-letter; it will be retried');
        continue;
      }
      if (!consumer.matcher.match(event)) {
        bus.nc.publish(m.reply as string, '+ACK');
        continue;
      }
      // The token dies when JetStream would redeliver: JetStream's timer started when it sent the
      // event, a little before we received it, so keep a small margin.
      const expiresAt = Date.now() + consumer.ackWaitMs - Math.min(250, consumer.ackWaitMs / 10);
      replies.push(m.reply as string);
      out.push({
        seq: info.streamSequence,
        delivery: info.deliveryCount,
        ack_token: tokens.sign({ tenant: consumer.tenant, consumer: consumer.name, reply: m.reply as string, expiresAt }),
        ack_deadline: new Date(expiresAt).toISOString(),
        event,
      });
    }
    if (opts.signal?.aborted) {
      // The client went away during the long poll: JetStream cannot cancel a waiting pull, so what
      // it delivered meanwhile is handed straight back rather than left until the ack wait.
      for (const reply of replies) bus.nc.publish(reply, '-NAK');
      bus.log.info({ consumer: consumer.durable, returned: replies.length }, 'fetch abandoned by the client');
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
 * Acks (`+ACK`) or naks (`-NAK`, optionally redelivered after `delayMs`) one delivery through its
 * token. The ack is a request, so JetStream confirms it took it; a token that fails verification
 * never reaches NATS.
 */
export async function settle(
  bus: EventBus,
  tokens: AckTokens,
  token: unknown,
  who: { tenant: string; consumer: string; durable: string },
  action: { kind: 'ack' } | { kind: 'nak'; delayMs?: number | undefined },
): Promise<AckOutcome> {
  try {
    const claims = tokens.verify(token, who.tenant, who.consumer);
    const parsed = parseAckSubject(claims.reply);
    // Signed by us, so this only fails if the signing key leaked; refuse all the same.
    if (!parsed || parsed.consumer !== who.durable || parsed.stream !== bus.config.STREAM_NAME) {
      throw new GatewayError('GW_INVALID_ACK_TOKEN', `The ack token was issued for another consumer than "${who.consumer}"`);
    }
    const payload = action.kind === 'ack' ? '+ACK' : action.delayMs ? `-NAK ${JSON.stringify({ delay: nanos(action.delayMs) })}` : '-NAK';
    try {
      await bus.nc.request(claims.reply, payload, { timeout: bus.config.PUBLISH_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoRespondersError || (err as Error).cause instanceof NoRespondersError) {
        throw new GatewayError('GW_NOT_FOUND', `The consumer "${who.consumer}" no longer exists`);
      }
      throw bus.translate(err);
    }
    return { ok: true };
  } catch (err) {
    const e = err instanceof GatewayError ? err : bus.translate(err);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
