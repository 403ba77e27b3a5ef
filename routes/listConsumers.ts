// GET /v1/consumers: the caller's tenant's durable consumers (never another tenant's).
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function listConsumers(req: Request<'listConsumers'>, reply: Reply<'listConsumers'>) {
  const consumers = await req.server.bus.listConsumers(principalOf(req).tenantId);
  return reply.send({ consumers });
}
