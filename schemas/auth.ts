// API key scopes and the API key file (API_KEYS_FILE, read by src/auth/api-keys.ts).
import { type Static, Type } from '@sinclair/typebox';
import { describe, guardOf, TenantId } from './identifiers.ts';

/**
 * What an API key may do; an operation names the one it needs (`x-required-scope`). `admin`
 * manages keys and tenants (`/v1/admin/...`, docs/admin.md) for every tenant.
 */
export const SCOPES = ['publish', 'subscribe', 'read', 'admin'] as const;

export const Scope = Type.Union(
  SCOPES.map((s) => Type.Literal(s)),
  { description: 'A scope of an API key.' },
);
export type Scope = Static<typeof Scope>;

/** The hex SHA-256 digest of a key: the file never holds a key itself. */
export const KeySha256 = Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'Hex SHA-256 of the key (64 hex digits).' });
export const isKeySha256 = guardOf(KeySha256);

export const ApiKeyEntry = Type.Object({
  tenant_id: describe(TenantId, 'The tenant every request made with this key acts for.'),
  key_sha256: KeySha256,
  scopes: Type.Array(Scope),
});
export type ApiKeyEntry = Static<typeof ApiKeyEntry>;

/** `{"keys": [{"tenant_id", "key_sha256", "scopes"}]}`. */
export const ApiKeyFile = Type.Object({ keys: Type.Array(ApiKeyEntry) });
export type ApiKeyFile = Static<typeof ApiKeyFile>;
