// GET /v1/consumers/{name}: the tenant's consumer, its definition and position.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../src/auth/authenticate.ts';
import { describeConsumer } from '../src/bus/durable-consumers.ts';
import { GatewayError } from '../src/errors.ts';

export async function getConsumer(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params as { name: string };
  const described = await describeConsumer(req.server.bus, tenant, name);
  if (!described) throw new GatewayError('GW_NOT_FOUND', `No consumer "${name}"`);
  return reply.send(described);
}
