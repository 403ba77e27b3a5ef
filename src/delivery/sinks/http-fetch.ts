// The HTTP fetch sink: the answer of one `POST /v1/consumers/{name}/fetch` long poll. Each event
// gets an ack token carrying its delivery's opaque handle (src/ack-tokens.ts), so any gateway
// instance can ack or nak it later (`settle`): the gateway keeps no state between requests.
import type { Static } from '@sinclair/typebox';
import type { EventFormat } from '../../../schemas/cloudevents.ts';
import type { FetchedEvent as FetchedEventSchema } from '../../../schemas/consumers.ts';
import type { AckTokens } from '../../ack-tokens.ts';
import type { Bus, DurableConsumer } from '../../bus/index.ts';
import { toCloudEvent } from '../../cloudevents.ts';
import { type ErrorCode, GatewayError } from '../../errors.ts';
import type { DeliveryLog, EventRef, Sink } from '../engine.ts';
import { endSpan, startSettleSpan, tracingActive } from '../../tracing.ts';
import { countersOf } from '../observe.ts';
import { openFetch } from '../open.ts';

export type FetchedEvent = Static<typeof FetchedEventSchema>;

export class HttpFetchSink implements Sink {
  readonly metricsName = 'http-fetch';
  readonly events: FetchedEvent[] = [];
  readonly #consumer: DurableConsumer;
  readonly #tokens: AckTokens;
  readonly #cloudEvents: boolean;

  constructor(consumer: DurableConsumer, tokens: AckTokens, format: EventFormat = 'envelope') {
    this.#consumer = consumer;
    this.#tokens = tokens;
    this.#cloudEvents = format === 'cloudevents';
  }

  /** The answer is assembled in memory: it always keeps up. */
  get ready(): boolean {
    return true;
  }

  async waitReady(): Promise<boolean> {
    return true;
  }

  write(event: EventRef, delivery: number): void {
    const { ackWaitMs, tenant, name } = this.#consumer;
    // The token dies when JetStream would redeliver: JetStream's timer started when it sent the
    // event, a little before we received it, so keep a small margin.
    const expiresAt = Date.now() + ackWaitMs - Math.min(250, ackWaitMs / 10);
    const item: FetchedEvent = {
      seq: event.seq,
      delivery,
      ack_token: this.#tokens.sign({ tenant, consumer: name, reply: event.handle as string, expiresAt }),
      ack_deadline: new Date(expiresAt).toISOString(),
      event: this.#cloudEvents ? toCloudEvent(event.envelope) : event.envelope,
    };
    if (event.traceparent) {
      item.traceparent = event.traceparent;
      if (event.tracestate) item.tracestate = event.tracestate;
    }
    this.events.push(item);
  }

  /** Never: `ready` is always true. */
  slow(): void {}

  /** Never: a fetch's failure is thrown to the request. */
  fail(): void {}
}

/**
 * Fetches up to `max` events for the consumer, waiting up to `waitMs` for the first one. Answers
 * as soon as at least one deliverable event arrived; events only the filter rejects do not end the
 * wait. When `signal` aborts (the HTTP client left), what arrived is nak'ed for immediate
 * redelivery and nothing is returned.
 */
export async function fetchEvents(
  bus: Bus,
  consumer: DurableConsumer,
  opts: { max: number; waitMs: number; signal?: AbortSignal | undefined; log: DeliveryLog; format?: EventFormat | undefined },
  tokens: AckTokens,
): Promise<FetchedEvent[]> {
  const sink = new HttpFetchSink(consumer, tokens, opts.format);
  const delivery = openFetch(bus, consumer, opts.max, sink, opts.log);
  if (!(await delivery.fetch(opts.waitMs, opts.signal))) return [];
  delivery.release(); // the client settles them through their tokens
  return sink.events;
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
  // The token carries no trace context: a settle span here has no parent.
  const span = tracingActive() ? startSettleSpan(action.kind, undefined, undefined) : undefined;
  try {
    const claims = tokens.verify(token, who.tenant, who.consumer);
    await bus.settle(claims.reply, who, action);
    const counters = countersOf(bus, 'http-fetch');
    (action.kind === 'ack' ? counters.acked : counters.nakked).inc();
    if (span) endSpan(span);
    return { ok: true };
  } catch (err) {
    const e = err instanceof GatewayError ? err : bus.translate(err);
    if (span) endSpan(span, e);
    return { ok: false, error: { code: e.code, message: e.message } };
  }
}
