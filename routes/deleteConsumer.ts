// DELETE /v1/consumers/{name}: idempotent; `deleted: false` when the tenant had no such consumer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../src/auth/authenticate.ts';
import { deleteDurableConsumer } from '../src/bus/durable-consumers.ts';

export async function deleteConsumer(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params as { name: string };
  const deleted = await deleteDurableConsumer(req.server.bus, tenant, name);
  return reply.send({ name, deleted });
}
