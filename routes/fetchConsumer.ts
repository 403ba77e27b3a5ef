// POST /v1/consumers/{name}/fetch: long-poll the tenant's consumer (read from JetStream on every
// call, so any instance serves it) for up to `max` events, each with an ack token.
import { FETCH_DEFAULT_MAX, FETCH_DEFAULT_WAIT_MS } from '../schemas/consumers.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { fetchEvents } from '../src/delivery/sinks/http-fetch.ts';
import { GatewayError } from '../src/errors.ts';
import type { Reply, Request } from './handler.ts';

export async function fetchConsumer(req: Request<'fetchConsumer'>, reply: Reply<'fetchConsumer'>) {
  const gateway = req.server;
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const body = req.body;
  const max = body.max ?? FETCH_DEFAULT_MAX;
  if (max > gateway.config.CONSUMER_MAX_FETCH) {
    throw new GatewayError('GW_VALIDATION_FAILED', 'The request body is invalid', {
      errors: [{ pointer: '/max', message: `must be at most ${gateway.config.CONSUMER_MAX_FETCH}`, keyword: 'maximum' }],
    });
  }
  const consumer = await gateway.bus.getConsumer(tenant, name);
  if (!consumer) throw new GatewayError('GW_NOT_FOUND', `No consumer "${name}"; create it with PUT /v1/consumers/${name}`);
  // A client that hangs up mid-poll must not strand the events the poll still receives.
  const abandoned = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) abandoned.abort();
  };
  reply.raw.once('close', onClose);
  const events = await fetchEvents(
    gateway.bus,
    consumer,
    { max, waitMs: body.wait_ms ?? FETCH_DEFAULT_WAIT_MS, signal: abandoned.signal, log: req.log, format: req.query.format },
    gateway.ackTokens,
  ).finally(() => reply.raw.off('close', onClose));
  req.log.debug({ consumer: consumer.durable, count: events.length }, 'fetched');
  return reply.send({ events });
}
