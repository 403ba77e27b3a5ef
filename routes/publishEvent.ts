// POST /v1/events: authenticate (onRequest hook), validate and normalise, publish, answer 202 once
// JetStream acknowledged the event. The body is an envelope (`application/json`), a structured-mode
// CloudEvent (`application/cloudevents+json`) or, with `ce-*` headers, the data of a binary-mode
// CloudEvent, which `publishEventPreValidation` turns into an envelope before validation.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { CLOUDEVENTS_JSON } from '../schemas/cloudevents.ts';
import type { EventInput } from '../schemas/envelope.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { asCloudEventError, cloudEventFromBinary, fromCloudEvent, isBinaryCloudEvent, type TraceContext } from '../src/cloudevents.ts';
import { correlationIdFromHeader, traceIdFromTraceparent } from '../src/event-preparer.ts';
import { traceContextFrom } from '../src/tracing.ts';
import type { Reply, Request } from './handler.ts';

/** The trace context of a binary-mode CloudEvent, found before validation (see below). */
const binaryTrace = new WeakMap<FastifyRequest, TraceContext>();

/**
 * A binary-mode CloudEvent (a `ce-specversion` header on a JSON body) becomes the envelope its
 * headers and body map to, so the route's envelope schema validates it like any other.
 */
export function publishEventPreValidation(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (!isBinaryCloudEvent(req.headers) || req.mediaType === CLOUDEVENTS_JSON) {
    done();
    return;
  }
  const converted = fromCloudEvent(cloudEventFromBinary(req.headers, req.body));
  if (!converted.ok) {
    done(converted.error);
    return;
  }
  req.body = converted.input;
  if (converted.trace) binaryTrace.set(req, converted.trace);
  done();
}

export async function publishEvent(req: Request<'publishEvent'>, reply: Reply<'publishEvent'>) {
  const { preparer, bus, quotas, metrics } = req.server;
  const tenantId = principalOf(req).tenantId;
  // The tenant's publish rate (429 GW_RATE_LIMITED over it, counted by gateway_rate_limited_total);
  // the RateLimit fields go on every answer.
  const limited = quotas.takePublish(tenantId, 1);
  if (limited) reply.headers(limited);
  const counted = metrics.eventsPublished(tenantId);
  const structured = req.mediaType === CLOUDEVENTS_JSON;
  const cloudEvent = structured || isBinaryCloudEvent(req.headers);
  let input: EventInput = req.body;
  // The publisher's W3C trace context travels with the event to every delivery: a CloudEvent's
  // distributed-tracing extension, else the request's traceparent header.
  let trace = binaryTrace.get(req);
  if (structured) {
    const converted = fromCloudEvent(req.body);
    if (!converted.ok) {
      counted.rejected.inc();
      throw converted.error;
    }
    input = converted.input;
    trace = converted.trace;
  }
  trace ??= traceContextFrom(req.headers.traceparent, req.headers.tracestate);
  // The route schema (EventInput, or CloudEvent mapped above) already validated the body; the catalogue checks remain.
  const prepared = preparer.prepareValid(input, {
    tenantId,
    correlationId: correlationIdFromHeader(req.headers['x-correlation-id']),
    traceId: traceIdFromTraceparent(req.headers.traceparent),
  });
  if (!prepared.ok) {
    counted.rejected.inc();
    throw cloudEvent ? asCloudEventError(prepared.error) : prepared.error;
  }
  const { event } = prepared;
  let stored: Awaited<ReturnType<typeof bus.publish>>;
  try {
    stored = await bus.publish(event, { trace });
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
