// The admin API (`/v1/admin/...`, scope `admin`): API keys and tenant settings at run time, kept
// in the admin bucket (NATS KV) that every instance watches. Handlers: routes/{createApiKey,
// listApiKeys,deleteApiKey,putTenant,getTenant}.ts; behaviour: docs/admin.md.
import { type Static, Type } from '@sinclair/typebox';
import { Scope } from './auth.ts';
import { describe, TenantId } from './identifiers.ts';
import { BUS_ERRORS, type OperationSpec, type ParameterSpecOf, parametersOf } from './openapi-builder.ts';
import { TenantLimits, TenantSettings } from './tenants.ts';

export const KEY_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const KeyId = Type.String({ pattern: KEY_ID_PATTERN, description: 'The id of a key made with the admin API (not the key).' });

const Description = Type.String({ maxLength: 256, description: "What the key is for (the operator's note)." });
const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const CreateApiKeyRequest = Type.Object(
  {
    tenant_id: describe(TenantId, 'The tenant every request made with the key acts for.'),
    scopes: Type.Array(Scope, { minItems: 1, maxItems: 4, uniqueItems: true }),
    description: Type.Optional(Description),
    expires_at: Type.Optional(Timestamp('When the key stops working (in the future); never when absent.')),
  },
  { title: 'CreateApiKeyRequest', additionalProperties: false },
);
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>;

export const ApiKeyInfo = Type.Object(
  {
    key_id: KeyId,
    tenant_id: TenantId,
    scopes: Type.Array(Scope),
    description: Type.Optional(Description),
    created_at: Timestamp('When the key was made.'),
    expires_at: Type.Optional(Timestamp('When the key stops working.')),
  },
  { title: 'ApiKeyInfo', additionalProperties: false, description: 'A key made with the admin API, without its secret.' },
);
export type ApiKeyInfo = Static<typeof ApiKeyInfo>;

export const CreatedApiKey = Type.Object(
  {
    key: Type.String({ description: 'The key itself: shown this once, never stored (the gateway keeps its SHA-256 only).' }),
    ...ApiKeyInfo.properties,
  },
  { title: 'CreatedApiKey', additionalProperties: false },
);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

/** What the admin bucket holds for a key: its info and the hex SHA-256 of the key, never the key. */
export const ApiKeyRecord = Type.Object(
  { ...ApiKeyInfo.properties, key_sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
  { additionalProperties: false },
);
export type ApiKeyRecord = Static<typeof ApiKeyRecord>;

export const ApiKeyList = Type.Object(
  { keys: Type.Array(ApiKeyInfo, { description: 'Oldest first.' }) },
  { title: 'ApiKeyList', additionalProperties: false },
);
export type ApiKeyList = Static<typeof ApiKeyList>;

export const ApiKeyDeleted = Type.Object(
  { key_id: KeyId, deleted: Type.Boolean({ description: 'False when there was no such key (deleting is idempotent).' }) },
  { title: 'ApiKeyDeleted', additionalProperties: false },
);
export type ApiKeyDeleted = Static<typeof ApiKeyDeleted>;

export const Tenant = Type.Object(
  {
    tenant_id: TenantId,
    ...TenantSettings.properties,
    updated_at: Type.Optional(
      Timestamp('When the settings were last put; absent for a tenant never configured (enabled, default limits).'),
    ),
  },
  { title: 'Tenant', additionalProperties: false },
);
export type Tenant = Static<typeof Tenant>;

export const ListApiKeysQuery = Type.Object({ tenant_id: Type.Optional(TenantId) });
export const KeyParams = Type.Object({ key_id: KeyId });
export const TenantParams = Type.Object({ tenant_id: TenantId });

const [KEY_ID] = parametersOf('path', KeyParams, {
  key_id: { description: 'The `key_id` the key was created with.', example: 'key_8kqX2vTn5mWc0aJd' },
}) as [ParameterSpecOf<'path', typeof KeyParams>];
const [TENANT_ID] = parametersOf('path', TenantParams, {
  tenant_id: { description: 'The tenant.', example: 'ten_abc123' },
}) as [ParameterSpecOf<'path', typeof TenantParams>];

const keyExample = {
  key_id: 'key_8kqX2vTn5mWc0aJd',
  tenant_id: 'ten_abc123',
  scopes: ['publish', 'read'],
  description: 'billing-service, production',
  created_at: '2026-03-15T10:05:22.123Z',
  expires_at: '2027-03-15T00:00:00.000Z',
};

export const ADMIN_OPERATIONS = [
  {
    method: 'post',
    path: '/v1/admin/keys',
    operationId: 'createApiKey',
    summary: 'Create an API key',
    description:
      'Makes a key for a tenant with the given scopes. The answer shows the key once: the gateway keeps only its SHA-256, in the admin bucket every instance watches, ' +
      'so the key works on every instance within moments.',
    tag: 'admin',
    scope: 'admin',
    requestBody: {
      description: 'The tenant, scopes, and optionally a description and an expiry.',
      schema: CreateApiKeyRequest,
      examples: {
        service: {
          summary: 'A publishing and reading key for a service',
          value: { tenant_id: 'ten_abc123', scopes: ['publish', 'read'], description: 'billing-service, production' },
        },
      },
    },
    responses: {
      201: {
        description: 'Created: `key` is shown this once.',
        schema: CreatedApiKey,
        example: { key: 'gwk_3q2-7wJmZ1...', ...keyExample },
      },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/admin/keys',
    operationId: 'listApiKeys',
    summary: 'List API keys',
    description:
      "Keys made with the admin API (not those of API_KEYS_FILE), a tenant's or every tenant's, without their secrets. Expired keys are listed until deleted.",
    tag: 'admin',
    scope: 'admin',
    parameters: parametersOf('query', ListApiKeysQuery, { tenant_id: { description: "Only this tenant's keys.", example: 'ten_abc123' } }),
    responses: { 200: { description: 'The keys.', schema: ApiKeyList, example: { keys: [keyExample] } } },
    errors: [],
  },
  {
    method: 'delete',
    path: '/v1/admin/keys/{key_id}',
    operationId: 'deleteApiKey',
    summary: 'Revoke an API key',
    description: 'Deletes the key: every instance refuses it within 2 seconds. Idempotent: `deleted: false` when there was no such key.',
    tag: 'admin',
    scope: 'admin',
    parameters: [KEY_ID],
    responses: {
      200: { description: 'Revoked (or never there).', schema: ApiKeyDeleted, example: { key_id: 'key_8kqX2vTn5mWc0aJd', deleted: true } },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'put',
    path: '/v1/admin/tenants/{tenant_id}',
    operationId: 'putTenant',
    summary: "Set a tenant's settings",
    description:
      'Enables or disables the tenant and sets its limits (replacing the previous settings). A disabled tenant is refused everywhere with 403 `GW_TENANT_DISABLED` ' +
      'and its open WebSockets are closed with code 4003, on every instance within 2 seconds.',
    tag: 'admin',
    scope: 'admin',
    parameters: [TENANT_ID],
    requestBody: {
      description: 'The settings.',
      schema: TenantSettings,
      examples: {
        limits: {
          summary: 'Enabled, with limits of its own',
          value: { enabled: true, limits: { publish_per_second: 200, publish_burst: 400, ws_connections: 50 } },
        },
        disable: { summary: 'Disabled', value: { enabled: false } },
      },
    },
    responses: {
      200: {
        description: 'The settings now in force.',
        schema: Tenant,
        example: { tenant_id: 'ten_abc123', enabled: true, limits: { publish_per_second: 200 }, updated_at: '2026-03-15T10:05:22.123Z' },
      },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/admin/tenants/{tenant_id}',
    operationId: 'getTenant',
    summary: "A tenant's settings",
    description:
      'Whether the tenant is enabled, and its limits. A tenant never configured is enabled with the default limits (no `updated_at`).',
    tag: 'admin',
    scope: 'admin',
    parameters: [TENANT_ID],
    responses: { 200: { description: 'The settings.', schema: Tenant, example: { tenant_id: 'ten_abc123', enabled: true } } },
    errors: [],
  },
] as const satisfies readonly OperationSpec[];

export const ADMIN_COMPONENTS = [
  CreateApiKeyRequest,
  CreatedApiKey,
  ApiKeyInfo,
  ApiKeyList,
  ApiKeyDeleted,
  Tenant,
  TenantSettings,
  TenantLimits,
];
