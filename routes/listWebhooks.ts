// GET /v1/webhooks: every webhook of the tenant with its state and lag.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function listWebhooks(req: Request<'listWebhooks'>, reply: Reply<'listWebhooks'>) {
  return reply.send({ webhooks: await req.server.webhooks.list(principalOf(req).tenantId) });
}
