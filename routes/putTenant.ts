// PUT /v1/admin/tenants/{tenant_id}: replaces the tenant's settings (enabled, limits) in the admin
// bucket; every instance, this one included, applies them when its watch brings them.
import type { Reply, Request } from './handler.ts';

/** The longest a PUT waits to see its settings in force on this instance. */
const APPLY_WAIT_MS = 2000;

export async function putTenant(req: Request<'putTenant'>, reply: Reply<'putTenant'>) {
  const { bus, apiKeys } = req.server;
  const { tenant_id } = req.params;
  const settings = req.body.limits === undefined ? { enabled: req.body.enabled } : { enabled: req.body.enabled, limits: req.body.limits };
  const revision = await bus.putTenantSettings(tenant_id, settings);
  // Answered once in force here (the watch brings it within milliseconds; stored either way).
  const applied = await apiKeys.tenantApplied(tenant_id, revision, APPLY_WAIT_MS);
  req.log.info({ tenant_id, enabled: settings.enabled, applied }, 'tenant settings put');
  return reply.send({ tenant_id, ...settings, updated_at: apiKeys.tenant(tenant_id)?.updatedAt ?? new Date().toISOString() });
}
