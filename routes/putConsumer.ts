// PUT /v1/consumers/{name}: create or update the tenant's durable consumer (idempotent), answer
// its description: 201 when created, 200 otherwise.
import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsumerDefinition } from '../schemas/consumers.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';

export async function putConsumer(req: FastifyRequest, reply: FastifyReply) {
  const { bus } = req.server.gateway;
  const tenant = principalOf(req).tenantId;
  const { name } = req.params as { name: string };
  const body = req.body as Static<typeof ConsumerDefinition>;
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
