// POST /v1/webhooks/{name}/rotate-secret: a new signing secret, answered once; the previous one
// keeps signing for WEBHOOK_SECRET_ROTATION_WINDOW.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function rotateWebhookSecret(req: Request<'rotateWebhookSecret'>, reply: Reply<'rotateWebhookSecret'>) {
  const { name } = req.params;
  const rotated = await req.server.webhooks.rotateSecret(principalOf(req).tenantId, name);
  req.log.info({ webhook: name, previous_secret_expires_at: rotated.previous_secret_expires_at }, 'webhook secret rotated');
  return reply.send(rotated);
}
