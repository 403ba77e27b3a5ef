// DELETE /v1/consumers/{name}: idempotent; `deleted: false` when the tenant had no such consumer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { deleteDurableConsumer } from '../src/bus/durable-consumers.ts';

export async function deleteConsumer(req: FastifyRequest, reply: FastifyReply) {
  const tenant = (req.principal as NonNullable<typeof req.principal>).tenantId;
  const { name } = req.params as { name: string };
  const deleted = await deleteDurableConsumer(req.server.gateway.bus, tenant, name);
  return reply.send({ name, deleted });
}
