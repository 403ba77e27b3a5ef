// Tenant settings, kept at run time in the admin bucket (NATS KV) and set with
// `PUT /v1/admin/tenants/{tenant_id}`: whether the tenant may use the gateway at all, and its
// limits (read by the quotas; an absent limit means the configured default). A tenant nobody has
// configured is enabled, with the defaults.
import { type Static, Type } from '@sinclair/typebox';

export const TenantLimits = Type.Object(
  {
    publish_per_second: Type.Optional(
      Type.Number({ minimum: 0, description: 'Events the tenant may publish per second (a batch counts its entries).' }),
    ),
    publish_burst: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Events the tenant may publish at once above its per-second rate.' }),
    ),
    ws_connections: Type.Optional(Type.Integer({ minimum: 0, description: 'Concurrent WebSocket connections.' })),
    subscriptions: Type.Optional(Type.Integer({ minimum: 0, description: 'Concurrent WebSocket subscriptions.' })),
    durable_consumers: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Durable consumers (HTTP pull consumers and WebSocket groups).' }),
    ),
    reads_per_second: Type.Optional(Type.Number({ minimum: 0, description: 'History and correlation reads per second.' })),
  },
  {
    title: 'TenantLimits',
    additionalProperties: false,
    description: "Overrides of the configured defaults for one tenant; an absent limit is the default's.",
  },
);
export type TenantLimits = Static<typeof TenantLimits>;

export const TenantSettings = Type.Object(
  {
    enabled: Type.Boolean({
      description:
        'False: every request with any of its keys is refused with 403 `GW_TENANT_DISABLED` and its open WebSockets are closed (code 4003).',
    }),
    limits: Type.Optional(TenantLimits),
  },
  { title: 'TenantSettings', additionalProperties: false },
);
/** What the admin bucket holds for a tenant: `{ enabled, limits? }`. */
export type TenantSettings = Static<typeof TenantSettings>;
