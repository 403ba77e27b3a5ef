// GET /v1/admin/keys: the keys made with the admin API (a tenant's, or all), never their secrets,
// as this instance's copy of the admin bucket holds them.
import type { Reply, Request } from './handler.ts';

export async function listApiKeys(req: Request<'listApiKeys'>, reply: Reply<'listApiKeys'>) {
  return reply.send({ keys: req.server.apiKeys.listKeys(req.query.tenant_id) });
}
