// DELETE /v1/webhooks/{name}: stop and delete the tenant's webhook (idempotent); its dead letters stay.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function deleteWebhook(req: Request<'deleteWebhook'>, reply: Reply<'deleteWebhook'>) {
  const { name } = req.params;
  const deleted = await req.server.webhooks.delete(principalOf(req).tenantId, name);
  req.log.info({ webhook: name, deleted }, 'webhook deleted');
  return reply.send({ name, deleted });
}
