// A tenant's durable consumers, counted for the durable-consumer quota: the event stream's
// consumers whose metadata names the tenant (durable-consumers.ts writes `gw_tenant` on every one,
// whatever its JetStream name). A listing of the stream's consumers, so it is only asked for when
// a tenant has that limit and is about to create one more.
import type { BusContext } from './context.ts';

/** The metadata key durable-consumers.ts keeps the owning tenant under. */
const TENANT_META = 'gw_tenant';

export async function countTenantConsumers(ctx: BusContext, tenant: string): Promise<number> {
  let n = 0;
  for await (const info of ctx.jsm.consumers.list(ctx.config.STREAM_NAME)) {
    if (info.config.durable_name && info.config.metadata?.[TENANT_META] === tenant) n++;
  }
  return n;
}
