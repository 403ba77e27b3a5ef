// GET /v1/webhooks/{name}: the tenant's webhook, its state and lag (never its secret).
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function getWebhook(req: Request<'getWebhook'>, reply: Reply<'getWebhook'>) {
  return reply.send(await req.server.webhooks.get(principalOf(req).tenantId, req.params.name));
}
