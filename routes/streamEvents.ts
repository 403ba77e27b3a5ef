// GET /v1/events/stream: Server-Sent Events (docs/sse.md). Authenticated before anything (a key
// with `subscribe`, or a single-use ticket: src/plugins/rest.ts), the selection checked, the
// delivery opened (the live feed, or a replay from Last-Event-ID / from_seq that goes on live):
// until here any error is a problem document. Then the response is taken over from fastify and
// becomes the SSE sink's stream, registered with the instance's connections (heartbeat, shutdown).
import type { Logger } from 'pino';
import { principalOf } from '../src/auth/authenticate.ts';
import { compileContentFilter } from '../src/content-filter.ts';
import type { Delivery, DeliveryFilter } from '../src/delivery/engine.ts';
import { openLive, openReplay } from '../src/delivery/open.ts';
import { SseSink, SseStream } from '../src/delivery/sinks/sse.ts';
import { GatewayError } from '../src/errors.ts';
import { isTypePattern, typeMatcher } from '../src/type-patterns.ts';
import type { Reply, Request } from './handler.ts';

const invalid = (where: string, message: string) =>
  new GatewayError('GW_INVALID_REQUEST', `Invalid ${where}: ${message}`, { errors: [{ pointer: where, message }] });

/** As many as a WebSocket subscription takes. */
const MAX_TYPE_PATTERNS = 32;

/** The type patterns of `types` (comma-separated or repeated); every type when none. */
function typesOf(raw: readonly string[] | undefined): string[] {
  const types = [...new Set((raw ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()))].filter(Boolean);
  if (types.length > MAX_TYPE_PATTERNS) throw invalid('querystring/types', `at most ${MAX_TYPE_PATTERNS} type patterns`);
  for (const t of types)
    if (!isTypePattern(t)) throw invalid('querystring/types', `"${t}" is not a type pattern (order.created, order.* or *)`);
  return types.length === 0 || types.includes('*') ? ['*'] : types;
}

function filterOf(raw: string | undefined) {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid('querystring/filter', 'is not JSON (a content filter, URL-encoded)');
  }
  return compileContentFilter(value, { pointer: '/filter' });
}

export async function streamEvents(req: Request<'streamEvents'>, reply: Reply<'streamEvents'>) {
  const { bus, config, wsSubscriptions } = req.server;
  const principal = principalOf(req);
  const tenant = principal.tenantId;
  const types = typesOf(req.query.types);
  const filter: DeliveryFilter = { tenant, matches: typeMatcher(types), content: filterOf(req.query.filter) };
  // Last-Event-ID (an EventSource reconnecting) wins over the from_seq its URL still carries.
  const lastEventId = req.headers['last-event-id'];
  let fromSeq = req.query.from_seq;
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    if (!/^[0-9]{1,16}$/.test(lastEventId)) throw invalid('headers/last-event-id', 'must be the id (a stream sequence) of an event');
    fromSeq = Number(lastEventId) + 1;
  }

  const log = req.log as Logger;
  const sink = new SseSink(reply.raw, { highWaterMark: config.WS_SEND_BUFFER_BYTES, log, cloudEvents: req.query.format === 'cloudevents' });
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no', // nginx: pass each record on at once
    'x-request-id': req.id,
  };
  let delivery: Delivery;
  if (fromSeq === undefined) {
    // Once open, the tenant's feed is subscribed: nothing stored after the headers is missed.
    delivery = await openLive(bus, filter, sink);
  } else {
    const opened = await openReplay(bus, filter, { types, from: { seq: fromSeq } }, sink, log);
    delivery = opened.delivery;
    if (opened.start.start_seq !== undefined) headers['x-start-seq'] = String(opened.start.start_seq);
    if (opened.start.truncated) headers['x-stream-truncated'] = 'true';
  }
  if (req.server.draining) headers.connection = 'close';

  // Headers hooks already set on the reply (CORS, say) go out with the stream's own.
  const early = Object.entries(reply.getHeaders()).filter((h): h is [string, string | number | string[]] => h[1] !== undefined);
  // From here on the answer is the stream: fastify no longer sends anything for this request.
  reply.hijack();
  const res = reply.raw;
  const stream = new SseStream(res, sink, delivery);
  if (res.destroyed) return reply; // the client left while the delivery was opened: `closed` stops it
  res.writeHead(200, { ...Object.fromEntries(early), ...headers });
  res.flushHeaders();
  // Remembered with its principal: a disabled tenant's or a revoked key's streams are ended (src/plugins/directory.ts).
  if (!wsSubscriptions.addStream(stream, principal)) {
    await stream.shutdown();
    return reply;
  }
  log.debug({ types, from_seq: fromSeq, filter: filter.content !== undefined }, 'event stream opened');
  delivery.run();
  return reply;
}
