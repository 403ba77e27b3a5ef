// The durable-consumer quota at the two places a consumer is created (PUT /v1/consumers/{name}
// and a WebSocket `subscribe` with a `group`): an existing consumer is always served; a new one
// only while the tenant holds fewer than its limit. The count is JetStream's, so it holds across
// instances (two creations racing on two instances can both pass: the documented tolerance).
import type { Bus } from '../bus/index.ts';
import type { Quotas } from './quotas.ts';

export async function admitDurableConsumer(quotas: Quotas, bus: Bus, tenant: string, name: string): Promise<void> {
  if (!quotas.limitsDurableConsumers(tenant)) return;
  if (await bus.getConsumer(tenant, name)) return;
  quotas.admitDurableConsumer(tenant, await bus.countConsumers(tenant));
}
