// GET /v1/webhooks/{name}/attempts: the webhook's most recent delivery attempts, newest first.
import { WEBHOOK_ATTEMPTS_DEFAULT_LIMIT } from '../schemas/webhooks.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function listWebhookAttempts(req: Request<'listWebhookAttempts'>, reply: Reply<'listWebhookAttempts'>) {
  const limit = req.query.limit ?? WEBHOOK_ATTEMPTS_DEFAULT_LIMIT;
  return reply.send({ attempts: await req.server.webhooks.attempts(principalOf(req).tenantId, req.params.name, limit) });
}
