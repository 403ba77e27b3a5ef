// API keys: which tenant a bearer key belongs to and what it may do. Only SHA-256 digests of keys
// are ever held; a presented key is hashed and looked up by its digest.
import { hash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isKeySha256, SCOPES, type Scope } from '../../schemas/auth.ts';
import { isTenantId } from '../../schemas/identifiers.ts';

export { SCOPES, type Scope };

export interface Principal {
  tenantId: string;
  scopes: ReadonlySet<Scope>;
  /** The key_id of a key made with the admin API (undefined for API_KEYS_FILE and bootstrap keys). */
  keyId?: string | undefined;
}

export class ApiKeyFileError extends Error {
  override name = 'ApiKeyFileError';
}

export function sha256(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

export class ApiKeys {
  // Keyed by the lowercase hex digest. Whatever the lookup's timing reveals is about digests,
  // which give an attacker nothing about a key (the preimage of a SHA-256 is out of reach).
  readonly #byDigest = new Map<string, Principal>();

  add(tenantId: string, keySha256Hex: string, scopes: Iterable<Scope>): void {
    this.#byDigest.set(keySha256Hex.toLowerCase(), { tenantId, scopes: new Set(scopes) });
  }

  /** The principal of a raw key, or undefined. */
  authenticate(key: string): Principal | undefined {
    // One-shot hash: no Hash object per request (that was ~6 % of a POST's CPU).
    return this.#byDigest.get(hash('sha256', key, 'hex'));
  }

  /** The lowercase hex SHA-256 of a key, as the maps are keyed. */
  static digestOf(key: string): string {
    return hash('sha256', key, 'hex');
  }

  /** The principal of a key by its lowercase hex digest, or undefined. */
  byDigest(digestHex: string): Principal | undefined {
    return this.#byDigest.get(digestHex);
  }

  get size(): number {
    return this.#byDigest.size;
  }

  static fromFile(path: string): ApiKeys {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ApiKeyFileError(`API_KEYS_FILE ${path}: ${(err as Error).message}`);
    }
    return ApiKeys.fromDocument(doc, path);
  }

  static fromDocument(doc: unknown, where = 'API keys'): ApiKeys {
    const keys = (doc as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new ApiKeyFileError(`${where}: expected {"keys": [...]}`);
    const out = new ApiKeys();
    keys.forEach((k: Record<string, unknown>, i) => {
      const at = `${where}: keys[${i}]`;
      if (!isTenantId(k?.tenant_id)) {
        throw new ApiKeyFileError(`${at}.tenant_id must be 1-128 letters, digits, _ or -`);
      }
      if (!isKeySha256(k.key_sha256)) {
        throw new ApiKeyFileError(`${at}.key_sha256 must be the hex SHA-256 of the key (64 hex digits)`);
      }
      const scopes = k.scopes;
      if (!Array.isArray(scopes) || scopes.some((s) => !SCOPES.includes(s as Scope))) {
        throw new ApiKeyFileError(`${at}.scopes must be a list of ${SCOPES.join(', ')}`);
      }
      out.add(k.tenant_id, k.key_sha256, scopes as Scope[]);
    });
    return out;
  }

  /** Dev mode: one tenant with every scope, and its raw key (random unless given). */
  static devMode(tenantId: string, key = `gw_dev_${randomBytes(18).toString('base64url')}`): { keys: ApiKeys; key: string } {
    const keys = new ApiKeys();
    keys.add(tenantId, sha256(key).toString('hex'), SCOPES);
    return { keys, key };
  }
}
