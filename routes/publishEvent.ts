// POST /v1/events: authenticate (onRequest hook), validate and normalise, publish, answer 202 once
// JetStream acknowledged the event.
import { principalOf } from '../src/auth/authenticate.ts';
import { correlationIdFromHeader, traceIdFromTraceparent } from '../src/event-preparer.ts';
import { traceContextFrom } from '../src/tracing.ts';
import type { Reply, Request } from './handler.ts';

export async function publishEvent(req: Request<'publishEvent'>, reply: Reply<'publishEvent'>) {
  const { preparer, bus, quotas, metrics } = req.server;
  const tenantId = principalOf(req).tenantId;
  // The tenant's publish rate (429 GW_RATE_LIMITED over it, counted by gateway_rate_limited_total);
  // the RateLimit fields go on every answer.
  const limited = quotas.takePublish(tenantId, 1);
  if (limited) reply.headers(limited);
  const counted = metrics.eventsPublished(tenantId);
  // The route schema (EventInput) already validated the body; the catalogue checks remain.
  const prepared = preparer.prepareValid(req.body, {
    tenantId,
    correlationId: correlationIdFromHeader(req.headers['x-correlation-id']),
    traceId: traceIdFromTraceparent(req.headers.traceparent),
  });
  if (!prepared.ok) {
    counted.rejected.inc();
    throw prepared.error;
  }
  const { event } = prepared;
  let stored: Awaited<ReturnType<typeof bus.publish>>;
  try {
    // The publisher's W3C trace context travels with the event to every delivery.
    stored = await bus.publish(event, { trace: traceContextFrom(req.headers.traceparent, req.headers.tracestate) });
  } catch (err) {
    counted.rejected.inc();
    throw err;
  }
  (stored.duplicate ? counted.duplicate : counted.stored).inc();
  if (req.log.isLevelEnabled('info')) {
    req.log.info(
      { event_id: event.id, correlation_id: event.metadata.correlation_id, type: event.type, seq: stored.seq, duplicate: stored.duplicate },
      'event published',
    );
  }
  return reply.code(202).send({ id: event.id, ...stored });
}
