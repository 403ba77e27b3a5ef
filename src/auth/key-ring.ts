// Every key the gateway accepts, and the tenants' settings, as one in-memory directory that each
// request reads in O(1) (one SHA-256 of the presented key, then map lookups by digest):
//   - the static keys of API_KEYS_FILE (replaced whole when the file is reloaded),
//   - the bootstrap keys (ADMIN_API_KEY; the dev-mode key),
//   - the keys made with the admin API and the tenant settings, both mirrored from the admin bucket
//     (NATS KV) that every instance watches (src/plugins/directory.ts feeds `apply`).
// It is also the TenantDirectory the quotas read limits from.
import { hash } from 'node:crypto';
import type { ApiKeyInfo, ApiKeyRecord } from '../../schemas/admin.ts';
import type { TenantSettings } from '../../schemas/tenants.ts';
import { GatewayError } from '../errors.ts';
import { ApiKeys, type Principal, type Scope } from './api-keys.ts';

export type { TenantLimits, TenantSettings } from '../../schemas/tenants.ts';

/** What changed in the directory: a tenant's settings (put or removed), or a key made or revoked. */
export type DirectoryChange =
  | { kind: 'tenant'; tenantId: string; settings: TenantSettings | undefined }
  | { kind: 'key'; keyId: string; tenantId: string; revoked: boolean };

/** Tenant settings as the rest of the gateway reads them (the quotas: `limits`). */
export interface TenantDirectory {
  /** The tenant's settings, or undefined when none were ever put (enabled, default limits). */
  settingsOf(tenantId: string): TenantSettings | undefined;
  /** False only when the tenant's settings say `enabled: false`. */
  isEnabled(tenantId: string): boolean;
  /** Called after every change, on every instance; returns the unsubscribe. */
  onChange(listener: (change: DirectoryChange) => void): () => void;
}

/** One entry of the admin bucket as its watch delivers it (the bus's AdminChange); `undefined` is a deletion. */
export type AdminEntry =
  | { kind: 'key'; keyId: string; record: ApiKeyRecord | undefined }
  | { kind: 'tenant'; tenantId: string; settings: TenantSettings | undefined; updatedAt: string | undefined; revision: number };

interface RuntimeKey {
  record: ApiKeyRecord;
  principal: Principal;
  /** Epoch ms, or Infinity. */
  expiresAt: number;
}

export class KeyRing implements TenantDirectory {
  #file: ApiKeys;
  readonly #bootstrap: ApiKeys;
  /** Admin-API keys by digest (lookup) and by key_id (revocation, listing). */
  readonly #byDigest = new Map<string, RuntimeKey>();
  readonly #byId = new Map<string, RuntimeKey>();
  readonly #tenants = new Map<string, { settings: TenantSettings; updatedAt: string | undefined }>();
  /** The bucket revision last applied per tenant, and who waits for one (tenantApplied). */
  readonly #tenantRevisions = new Map<string, number>();
  readonly #revisionWaiters = new Set<{ tenantId: string; revision: number; done: () => void }>();
  /**
   * key_ids revoked: key ids are random and never reused, so a late delivery of a key's creation
   * (the watch, after this instance applied the revocation itself) must not bring it back.
   */
  readonly #revoked = new Set<string>();
  readonly #listeners = new Set<(change: DirectoryChange) => void>();

  constructor(file: ApiKeys = new ApiKeys(), bootstrap: ApiKeys = new ApiKeys()) {
    this.#file = file;
    this.#bootstrap = bootstrap;
  }

  /** How many static keys (API_KEYS_FILE and bootstrap) there are. */
  get staticSize(): number {
    return this.#file.size + this.#bootstrap.size;
  }

  /** Swaps in the keys of a reloaded API_KEYS_FILE. */
  replaceFileKeys(keys: ApiKeys): void {
    this.#file = keys;
  }

  /**
   * The principal of a presented key and the scope the operation needs. Throws GW_UNAUTHORIZED
   * (unknown or revoked), GW_API_KEY_EXPIRED, GW_TENANT_DISABLED (except for admin operations,
   * which act for the operator, not the key's tenant) or GW_FORBIDDEN_SCOPE.
   */
  authorize(key: string, scope: Scope | 'any', now = Date.now()): Principal {
    const digest = hash('sha256', key, 'hex');
    let principal = this.#file.byDigest(digest) ?? this.#bootstrap.byDigest(digest);
    if (!principal) {
      const runtime = this.#byDigest.get(digest);
      if (!runtime) throw new GatewayError('GW_UNAUTHORIZED', 'Unknown API key');
      if (now >= runtime.expiresAt) {
        throw new GatewayError('GW_API_KEY_EXPIRED', `The API key expired at ${runtime.record.expires_at}; ask for a new one`);
      }
      principal = runtime.principal;
    }
    if (scope !== 'admin') this.assertEnabled(principal.tenantId);
    if (scope !== 'any' && !principal.scopes.has(scope)) {
      throw new GatewayError('GW_FORBIDDEN_SCOPE', `This operation needs the "${scope}" scope`);
    }
    return principal;
  }

  /** Throws GW_TENANT_DISABLED when the tenant is disabled. */
  assertEnabled(tenantId: string): void {
    if (this.#tenants.get(tenantId)?.settings.enabled === false) {
      throw new GatewayError('GW_TENANT_DISABLED', `The tenant "${tenantId}" is disabled`);
    }
  }

  /** Whether a key made with the admin API is still valid (not revoked nor expired). */
  keyValid(keyId: string, now = Date.now()): boolean {
    const k = this.#byId.get(keyId);
    return k !== undefined && now < k.expiresAt;
  }

  settingsOf(tenantId: string): TenantSettings | undefined {
    return this.#tenants.get(tenantId)?.settings;
  }

  /** The settings and when they were put (undefined when never). */
  tenant(tenantId: string): { settings: TenantSettings; updatedAt: string | undefined } | undefined {
    return this.#tenants.get(tenantId);
  }

  isEnabled(tenantId: string): boolean {
    return this.#tenants.get(tenantId)?.settings.enabled !== false;
  }

  onChange(listener: (change: DirectoryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The admin-API keys, a tenant's or all, oldest first, without digests. */
  listKeys(tenantId?: string): ApiKeyInfo[] {
    const out: ApiKeyInfo[] = [];
    for (const { record } of this.#byId.values()) {
      if (tenantId !== undefined && record.tenant_id !== tenantId) continue;
      const { key_sha256: _digest, ...info } = record;
      out.push(info);
    }
    return out.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.key_id < b.key_id ? -1 : 1));
  }

  /** Applies one change of the admin bucket (from the watch; a key also at once on the instance that made or revoked it). */
  apply(change: AdminEntry): void {
    if (change.kind === 'key') {
      if (change.record && this.#revoked.has(change.keyId)) return;
      if (!change.record) this.#revoked.add(change.keyId);
      const old = this.#byId.get(change.keyId);
      if (old) {
        this.#byId.delete(change.keyId);
        this.#byDigest.delete(old.record.key_sha256);
      }
      const record = change.record;
      if (record) {
        const expiresAt = record.expires_at === undefined ? Number.POSITIVE_INFINITY : Date.parse(record.expires_at);
        const entry: RuntimeKey = {
          record,
          expiresAt,
          principal: { tenantId: record.tenant_id, scopes: new Set(record.scopes), keyId: record.key_id },
        };
        this.#byId.set(record.key_id, entry);
        this.#byDigest.set(record.key_sha256, entry);
      }
      const tenantId = record?.tenant_id ?? old?.record.tenant_id;
      // A repeated delivery of what is already here (the watch after a local apply) is no change.
      if (tenantId !== undefined && (old === undefined) !== (record === undefined)) {
        this.#emit({ kind: 'key', keyId: change.keyId, tenantId, revoked: record === undefined });
      }
      return;
    }
    // Tenant changes come from the watch only, in the bucket's order (a local apply could be
    // overtaken by the watch bringing an older revision afterwards).
    this.#tenantRevisions.set(change.tenantId, change.revision);
    for (const w of this.#revisionWaiters) {
      if (w.tenantId === change.tenantId && change.revision >= w.revision) w.done();
    }
    const before = this.#tenants.get(change.tenantId);
    if (change.settings) this.#tenants.set(change.tenantId, { settings: change.settings, updatedAt: change.updatedAt });
    else this.#tenants.delete(change.tenantId);
    if (JSON.stringify(before?.settings) !== JSON.stringify(change.settings)) {
      this.#emit({ kind: 'tenant', tenantId: change.tenantId, settings: change.settings });
    }
  }

  /**
   * Resolves true once the watch applied the tenant's `revision` (or a later one), false after
   * `timeoutMs`: a PUT answers with its settings in force on the instance that took it.
   */
  tenantApplied(tenantId: string, revision: number, timeoutMs: number): Promise<boolean> {
    if ((this.#tenantRevisions.get(tenantId) ?? 0) >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        tenantId,
        revision,
        done: () => {
          clearTimeout(timer);
          this.#revisionWaiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.#revisionWaiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.#revisionWaiters.add(waiter);
    });
  }

  #emit(change: DirectoryChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }
}
