// The hand-rolled pull of HTTP fetches, kept because nats.js has no equivalent with the same
// semantics: a JetStream pull request with `no_wait` and `expires`, which the server holds while
// the consumer has nothing but answers as soon as events are there (a plain `expires` pull waits
// for the whole batch, `no_wait` alone does not wait at all). Deliveries are settled later, on
// any instance, through their reply subject (the opaque `handle` an ack token carries).
import { createInbox, type Msg, type MsgHdrs, NoRespondersError, nanos } from '@nats-io/transport-node';
import { GatewayError } from '../errors.ts';
import type { BusContext } from './context.ts';
import type { DeliveredMessage } from './dead-letters.ts';
import type { AckedSource, PulledDelivery } from './delivered.ts';
import type { DurableConsumer } from './durable-consumers.ts';
import { PullStatus, translate, unavailable } from './errors.ts';

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

const utf8 = new TextDecoder();

/** A core message of a pull, acknowledged by publishing to its reply subject. */
class CoreDelivery implements PulledDelivery, DeliveredMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly info: { deliveryCount: number; streamSequence: number };
  readonly handle: string;
  readonly #ctx: BusContext;

  constructor(ctx: BusContext, m: Msg, info: { deliveryCount: number; streamSequence: number }) {
    this.#ctx = ctx;
    this.subject = m.subject;
    this.data = m.data;
    this.headers = m.headers;
    this.info = info;
    this.handle = m.reply as string;
  }

  get seq(): number {
    return this.info.streamSequence;
  }

  string(): string {
    return utf8.decode(this.data);
  }

  ack(): void {
    this.#ctx.nc.publish(this.handle, '+ACK');
  }

  nak(delayMs?: number): void {
    this.#ctx.nc.publish(this.handle, nakPayload(delayMs));
  }

  term(reason?: string): void {
    this.#ctx.nc.publish(this.handle, reason ? `+TERM ${reason}` : '+TERM');
  }

  working(): void {
    this.#ctx.nc.publish(this.handle, '+WPI');
  }
}

function nakPayload(delayMs: number | undefined): string {
  return delayMs ? `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}` : '-NAK';
}

/**
 * One pull request: up to `batch` deliveries, waiting at most `waitMs` for the first. Resolves
 * early when JetStream ends the request (no messages, request timeout, or a 409 such as too many
 * waiting pulls); a consumer deleted meanwhile is GW_NOT_FOUND.
 */
export async function pullNoWait(ctx: BusContext, durable: string, batch: number, waitMs: number): Promise<PulledDelivery[]> {
  const { nc, config } = ctx;
  const inbox = createInbox();
  const sub = nc.subscribe(inbox, { max: batch + 8 });
  const request = waitMs >= 1 ? { batch, no_wait: true, expires: nanos(waitMs) } : { batch, no_wait: true };
  // Should JetStream never end the request (it always does), stop listening anyway.
  const guard = setTimeout(() => sub.unsubscribe(), waitMs + 2000);
  const out: PulledDelivery[] = [];
  try {
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${config.STREAM_NAME}.${durable}`, JSON.stringify(request), { reply: inbox });
    for await (const m of sub) {
      if (m.reply?.startsWith('$JS.ACK.')) {
        const info = parseAckSubject(m.reply);
        if (info) out.push(new CoreDelivery(ctx, m, info));
        if (out.length >= batch) break;
        continue;
      }
      const code = m.headers?.code ?? 0;
      if (code === PullStatus.Heartbeat) continue;
      if (code === PullStatus.NoResponders) throw unavailable(config, 'JetStream is not answering pull requests');
      if (code === PullStatus.Conflict && /deleted/i.test(m.headers?.description ?? '')) {
        throw new GatewayError('GW_NOT_FOUND', 'The consumer was deleted while fetching');
      }
      break; // no messages, request timeout, other conflicts: the request is over
    }
  } catch (err) {
    throw translate(err, config);
  } finally {
    clearTimeout(guard);
    sub.unsubscribe();
  }
  return out;
}

/**
 * Acks (`+ACK`) or naks (`-NAK`, optionally redelivered after `delayMs`) one delivery by its
 * handle, which must be one of `durable`'s. The ack is a request, so JetStream confirms it took it.
 */
export async function settleHandle(
  ctx: BusContext,
  handle: string,
  who: { consumer: string; durables: readonly string[] },
  action: { kind: 'ack' } | { kind: 'nak'; delayMs?: number | undefined },
): Promise<void> {
  const parsed = parseAckSubject(handle);
  // Handles come inside signed tokens, so this only fails if the signing key leaked; refuse all the same.
  // `durables`: the consumer's JetStream name, and the old one it may still have (durable-consumers.ts).
  if (!parsed || !who.durables.includes(parsed.consumer) || parsed.stream !== ctx.config.STREAM_NAME) {
    throw new GatewayError('GW_INVALID_ACK_TOKEN', `The ack token was issued for another consumer than "${who.consumer}"`);
  }
  const payload = action.kind === 'ack' ? '+ACK' : nakPayload(action.delayMs);
  try {
    await ctx.nc.request(handle, payload, { timeout: ctx.config.PUBLISH_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof NoRespondersError || (err as Error).cause instanceof NoRespondersError) {
      throw new GatewayError('GW_NOT_FOUND', `The consumer "${who.consumer}" no longer exists`);
    }
    throw translate(err, ctx.config);
  }
}

/** A durable consumer as HTTP fetches pull it: nothing to stop or release between requests. */
export class HttpPullSource implements AckedSource {
  readonly deadLetters: DurableConsumer;
  readonly ackWaitMs: number;
  readonly #ctx: BusContext;

  constructor(ctx: BusContext, consumer: DurableConsumer) {
    this.#ctx = ctx;
    this.deadLetters = consumer;
    this.ackWaitMs = consumer.ackWaitMs;
  }

  pull(max: number, waitMs: number): Promise<PulledDelivery[]> {
    return pullNoWait(this.#ctx, this.deadLetters.durable, max, waitMs);
  }

  stopPull(): void {}

  /** A deleted consumer shows as GW_NOT_FOUND from the pull itself. */
  async gone(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {}
}
