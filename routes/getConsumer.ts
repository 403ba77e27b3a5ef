// GET /v1/consumers/{name}: the tenant's consumer, its definition and position.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';

export async function getConsumer(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params as { name: string };
  const described = await req.server.gateway.bus.describeConsumer(tenant, name);
  if (!described) throw new GatewayError('GW_NOT_FOUND', `No consumer "${name}"`);
  return reply.send(described);
}
