// POST /v1/events/batch: every entry is prepared and published on its own (publishes are pipelined
// on the one NATS connection); valid entries are stored even when others fail. The body is
// `{"events": [envelopes]}`, or (`application/cloudevents-batch+json`) an array of CloudEvents.
import { CLOUDEVENTS_BATCH_JSON } from '../schemas/cloudevents.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { asCloudEventError, fromCloudEvent, type TraceContext } from '../src/cloudevents.ts';
import { GatewayError } from '../src/errors.ts';
import { correlationIdFromHeader, type Prepared, traceIdFromTraceparent } from '../src/event-preparer.ts';
import { traceContextFrom } from '../src/tracing.ts';
import type { Reply, Request, RouteOf } from './handler.ts';

type Result = RouteOf<'publishEventBatch'>['Reply']['results'][number];
type ItemError = Extract<Result, { error: unknown }>['error'];

export async function publishEventBatch(req: Request<'publishEventBatch'>, reply: Reply<'publishEventBatch'>) {
  const { preparer, bus, config, quotas, metrics } = req.server;
  const cloudEvents = req.mediaType === CLOUDEVENTS_BATCH_JSON;
  // The route validated the body against the schema of its media type: an array of CloudEvents, or `{events}`.
  const events: unknown[] = cloudEvents ? (req.body as unknown as unknown[]) : req.body.events;
  const tenantId = principalOf(req).tenantId;
  const counted = metrics.eventsPublished(tenantId);
  metrics.batchSize.observe(events.length);
  if (events.length > config.BATCH_MAX_EVENTS) {
    counted.rejected.inc(events.length);
    throw new GatewayError('GW_BATCH_TOO_LARGE', `A batch holds at most ${config.BATCH_MAX_EVENTS} events; this one has ${events.length}`);
  }
  // Nothing can be stored: one 503 for the request, rather than N identical failures.
  if (!bus.connected) {
    counted.rejected.inc(events.length);
    throw bus.unavailable('The event bus is not connected');
  }
  // Every entry counts against the tenant's publish rate: the whole batch is admitted or refused.
  const limited = quotas.takePublish(tenantId, events.length);
  if (limited) reply.headers(limited);
  // Entries travel with their CloudEvent's trace context, else the request's (each gets a `send` span of its own).
  const requestTrace = traceContextFrom(req.headers.traceparent, req.headers.tracestate);
  const ctx = {
    tenantId,
    correlationId: correlationIdFromHeader(req.headers['x-correlation-id']),
    traceId: traceIdFromTraceparent(req.headers.traceparent),
  };
  const failure = (index: number, err: GatewayError): Result => {
    const error: ItemError = { code: err.code, message: err.message };
    if (err.errors) error.errors = err.errors;
    return { index, error };
  };
  const prepare = (raw: unknown): { prepared: Prepared; trace?: TraceContext | undefined } => {
    if (!cloudEvents) return { prepared: preparer.prepare(raw, ctx) };
    const converted = fromCloudEvent(raw);
    if (!converted.ok) return { prepared: converted };
    const prepared = preparer.prepareValid(converted.input, ctx);
    return { prepared: prepared.ok ? prepared : { ok: false, error: asCloudEventError(prepared.error) }, trace: converted.trace };
  };

  const results = await Promise.all(
    events.map(async (raw, index): Promise<Result> => {
      const { prepared, trace } = prepare(raw);
      if (!prepared.ok) {
        counted.rejected.inc();
        return failure(index, prepared.error);
      }
      try {
        const stored = await bus.publish(prepared.event, { trace: trace ?? requestTrace });
        (stored.duplicate ? counted.duplicate : counted.stored).inc();
        return { id: prepared.event.id, seq: stored.seq, duplicate: stored.duplicate };
      } catch (err) {
        counted.rejected.inc();
        return failure(index, bus.translate(err));
      }
    }),
  );
  const failed = results.reduce((n, r) => n + ('error' in r ? 1 : 0), 0);
  req.log.info({ events: events.length, failed }, 'batch published');
  return reply.code(200).send({ results, failed });
}
