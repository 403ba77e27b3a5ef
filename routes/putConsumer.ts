// PUT /v1/consumers/{name}: create or update the tenant's durable consumer (idempotent), answer
// its description: 201 when created, 200 otherwise.
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';
import { admitDurableConsumer } from '../src/quotas/durable-consumers.ts';
import type { Reply, Request } from './handler.ts';

export async function putConsumer(req: Request<'putConsumer'>, reply: Reply<'putConsumer'>) {
  const { bus, quotas } = req.server;
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const body = req.body;
  await admitDurableConsumer(quotas, bus, tenant, name);
  const consumer = await bus.ensureConsumer(tenant, name, {
    types: body.types,
    filter: body.filter,
    from: body.from,
    ackWaitMs: body.ack_wait,
    maxDeliver: body.max_deliver,
  });
  const described = await bus.describeConsumer(tenant, name);
  if (!described) throw new GatewayError('GW_CONFLICT', `The consumer "${name}" was deleted while being set up; retry`);
  req.log.info({ consumer: consumer.durable, outcome: consumer.outcome }, 'consumer put');
  return reply.code(consumer.outcome === 'created' ? 201 : 200).send(described);
}
