// GET /v1/admin/tenants/{tenant_id}: the tenant's settings; a tenant never configured is enabled
// with the default limits.
import type { Reply, Request } from './handler.ts';

export async function getTenant(req: Request<'getTenant'>, reply: Reply<'getTenant'>) {
  const { tenant_id } = req.params;
  const found = req.server.apiKeys.tenant(tenant_id);
  if (!found) return reply.send({ tenant_id, enabled: true });
  const out: { tenant_id: string; enabled: boolean; limits?: typeof found.settings.limits; updated_at?: string } = {
    tenant_id,
    ...found.settings,
  };
  if (found.updatedAt !== undefined) out.updated_at = found.updatedAt;
  return reply.send(out);
}
