// POST /v1/events: authenticate (onRequest hook), validate and normalise, publish, answer 202 once
// JetStream acknowledged the event.
import { principalOf } from '../src/auth/authenticate.ts';
import { correlationIdFromHeader, traceIdFromTraceparent } from '../src/event-preparer.ts';
import type { Reply, Request } from './handler.ts';

export async function publishEvent(req: Request<'publishEvent'>, reply: Reply<'publishEvent'>) {
  const { preparer, bus, quotas } = req.server;
  const tenantId = principalOf(req).tenantId;
  // The tenant's publish rate (429 GW_RATE_LIMITED over it); the RateLimit fields go on every answer.
  const limited = quotas.takePublish(tenantId, 1);
  if (limited) reply.headers(limited);
  // The route schema (EventInput) already validated the body; the catalogue checks remain.
  const prepared = preparer.prepareValid(req.body, {
    tenantId,
    correlationId: correlationIdFromHeader(req.headers['x-correlation-id']),
    traceId: traceIdFromTraceparent(req.headers.traceparent),
  });
  if (!prepared.ok) throw prepared.error;
  const { event } = prepared;
  const stored = await bus.publish(event);
  if (req.log.isLevelEnabled('info')) {
    req.log.info(
      { event_id: event.id, correlation_id: event.metadata.correlation_id, type: event.type, seq: stored.seq, duplicate: stored.duplicate },
      'event published',
    );
  }
  return reply.code(202).send({ id: event.id, ...stored });
}
