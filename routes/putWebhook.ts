// PUT /v1/webhooks/{name}: create the tenant's webhook (201, with its secret) or update it (200).
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function putWebhook(req: Request<'putWebhook'>, reply: Reply<'putWebhook'>) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const result = await req.server.webhooks.put(tenant, name, req.body);
  req.log.info({ webhook: name, created: result.created }, 'webhook put');
  return reply.code(result.created ? 201 : 200).send(result.webhook);
}
