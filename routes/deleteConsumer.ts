// DELETE /v1/consumers/{name}: idempotent; `deleted: false` when the tenant had no such consumer.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function deleteConsumer(req: Request<'deleteConsumer'>, reply: Reply<'deleteConsumer'>) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const deleted = await req.server.bus.deleteConsumer(tenant, name);
  return reply.send({ name, deleted });
}
