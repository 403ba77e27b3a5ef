// DELETE /v1/consumers/{name}: idempotent; `deleted: false` when the tenant had no such consumer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../src/auth/authenticate.ts';

export async function deleteConsumer(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params as { name: string };
  const deleted = await req.server.gateway.bus.deleteConsumer(tenant, name);
  return reply.send({ name, deleted });
}
