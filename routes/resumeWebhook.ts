// POST /v1/webhooks/{name}/resume: a paused or disabled webhook delivers again where it stopped.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function resumeWebhook(req: Request<'resumeWebhook'>, reply: Reply<'resumeWebhook'>) {
  const { name } = req.params;
  const webhook = await req.server.webhooks.setState(principalOf(req).tenantId, name, 'active');
  req.log.info({ webhook: name }, 'webhook resumed');
  return reply.send(webhook);
}
