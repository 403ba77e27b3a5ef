// POST /v1/webhooks/{name}/pause: every instance stops delivering the webhook; events wait.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function pauseWebhook(req: Request<'pauseWebhook'>, reply: Reply<'pauseWebhook'>) {
  const { name } = req.params;
  const webhook = await req.server.webhooks.setState(principalOf(req).tenantId, name, 'paused', 'paused through the API');
  req.log.info({ webhook: name }, 'webhook paused');
  return reply.send(webhook);
}
