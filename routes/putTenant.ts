// PUT /v1/admin/tenants/{tenant_id}: replaces the tenant's settings (enabled, limits) in the admin
// bucket; applied here at once, on the other instances when the watch brings it.
import type { Reply, Request } from './handler.ts';

export async function putTenant(req: Request<'putTenant'>, reply: Reply<'putTenant'>) {
  const { bus, apiKeys } = req.server;
  const { tenant_id } = req.params;
  const settings = req.body.limits === undefined ? { enabled: req.body.enabled } : { enabled: req.body.enabled, limits: req.body.limits };
  const revision = await bus.putTenantSettings(tenant_id, settings);
  const updatedAt = new Date().toISOString();
  apiKeys.apply({ kind: 'tenant', tenantId: tenant_id, settings, updatedAt, revision });
  req.log.info({ tenant_id, enabled: settings.enabled }, 'tenant settings put');
  return reply.send({ tenant_id, ...settings, updated_at: apiKeys.tenant(tenant_id)?.updatedAt ?? updatedAt });
}
