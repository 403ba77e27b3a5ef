// The admin bucket: a NATS KV bucket (ADMIN_BUCKET, @nats-io/kv) holding the API keys made with the
// admin API (SHA-256 digests only, never a key) under `keys.<key_id>` and tenant settings under
// `tenants.<tenant_id>`. Replicated like the streams (STREAM_REPLICAS), five revisions
// per entry (who changed what, for an operator reading the bucket); file-stored unless STREAM_STORAGE
// is `memory`. Every instance watches it
// (an ordered push consumer, started again after every reconnect, since the server may have lost
// the bucket, and with backoff whenever it ends) and keeps what it holds in memory, so a request is
// authenticated with no NATS round trip and a revoked key or a disabled tenant is refused on every
// instance as soon as the change arrives (milliseconds). Values that do not match their schema are
// logged and treated as absent.
import { StorageType } from '@nats-io/jetstream';
import { type KV, type KvWatchEntry, Kvm } from '@nats-io/kv';
import { within } from '../deadline.ts';
import { type ApiKeyRecord, ApiKeyRecord as ApiKeyRecordSchema } from '../../schemas/admin.ts';
import { type TenantSettings, TenantSettings as TenantSettingsSchema } from '../../schemas/tenants.ts';
import { bodyAjv } from '../validation.ts';
import type { BusContext } from './context.ts';
import { translate } from './errors.ts';

/** Revisions kept per entry. */
const HISTORY = 5;

const KEY_PREFIX = 'keys.';
const TENANT_PREFIX = 'tenants.';

const isKeyRecord = bodyAjv.compile<ApiKeyRecord>(ApiKeyRecordSchema);
const isTenantSettings = bodyAjv.compile<TenantSettings>(TenantSettingsSchema);

/** One change of the bucket, as a watcher sees it; `undefined` values are deletions. */
export type AdminChange =
  | { kind: 'key'; keyId: string; record: ApiKeyRecord | undefined }
  | { kind: 'tenant'; tenantId: string; settings: TenantSettings | undefined; updatedAt: string | undefined; revision: number };

export interface AdminWatch {
  /** Resolves once the bucket's contents at the start were delivered (pending while NATS is away). */
  readonly loaded: Promise<void>;
  /**
   * Stops watching. Resolves once a watch that was being opened meanwhile has settled and been
   * stopped too (bounded): close the connection only after that (see RestartableWatch.stop).
   */
  stop(): Promise<void>;
}

/** The bus's own handle on a watch: it also restarts it after every reconnect. */
export interface RestartableWatch extends AdminWatch {
  /** Watches again from the bucket's contents (after a reconnect: the server may have lost them). */
  restart(): void;
}

export class AdminBucket {
  readonly #ctx: BusContext;
  #kv: Promise<KV> | undefined;

  constructor(ctx: BusContext) {
    this.#ctx = ctx;
  }

  /** The bucket, created on first use (an existing one is opened as it is). */
  #bucket(): Promise<KV> {
    this.#kv ??= new Kvm(this.#ctx.js)
      .create(this.#ctx.config.ADMIN_BUCKET, {
        replicas: this.#ctx.config.STREAM_REPLICAS,
        history: HISTORY,
        storage: this.#ctx.config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
      })
      .catch((err: unknown) => {
        this.#kv = undefined;
        throw err;
      });
    return this.#kv;
  }

  async #call<T>(fn: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#bucket());
    } catch (err) {
      // The next call opens (or makes) the bucket again: it may have gone with a server's storage.
      this.#kv = undefined;
      throw translate(err, this.#ctx.config);
    }
  }

  /** Stores a new key; its key_id must be new (ids are random, so a clash is a bug, not a race). */
  putKey(record: ApiKeyRecord): Promise<number> {
    return this.#call((kv) => kv.create(`${KEY_PREFIX}${record.key_id}`, JSON.stringify(record)));
  }

  /** Deletes a key; false when there was none. */
  deleteKey(keyId: string): Promise<boolean> {
    return this.#call(async (kv) => {
      const k = `${KEY_PREFIX}${keyId}`;
      const entry = await kv.get(k);
      if (entry?.operation !== 'PUT') return false;
      await kv.delete(k);
      return true;
    });
  }

  /** Replaces a tenant's settings; the bucket revision it got. */
  putTenant(tenantId: string, settings: TenantSettings): Promise<number> {
    return this.#call((kv) => kv.put(`${TENANT_PREFIX}${tenantId}`, JSON.stringify(settings)));
  }

  /**
   * Follows the bucket from its current contents on: `listener` gets every entry, then every
   * change. A watch that has to start again (it ended, or the bucket was lost with a nats-server's
   * storage) delivers the contents again, and whatever it no longer holds is delivered as deleted.
   */
  watch(listener: (change: AdminChange) => void, isClosed: () => boolean): RestartableWatch {
    const { log } = this.#ctx;
    let stopped = false;
    let restarting = false;
    let current: { stop(): void } | undefined;
    // The kv.watch() being opened, if any. nats.js starts the watch's heartbeat timer before it
    // subscribes: a watch whose opening meets a draining or closed connection fails with that
    // timer running, and nothing can stop it (it keeps the process alive). So stop() waits for an
    // opening to settle, and the bus closes the connection only after that.
    let opening: Promise<{ stop(): void }> | undefined;
    let loadedNow!: () => void;
    const loaded = new Promise<void>((resolve) => {
      loadedNow = resolve;
    });
    /** The entries present (last operation a put), as the listener was told. */
    const present = new Map<string, AdminChange>();
    const deliver = (change: AdminChange, key: string) => {
      if (change.kind === 'key' ? change.record : change.settings) present.set(key, change);
      else present.delete(key);
      listener(change);
    };
    const run = async () => {
      for (let tries = 0; !stopped && !isClosed(); ) {
        try {
          const kv = await this.#bucket();
          // Everything there is delivered first; `values` 0 means there is nothing to wait for.
          const status = await kv.status();
          const watching = kv.watch({ key: '>' });
          opening = watching;
          const iter = await watching.finally(() => {
            if (opening === watching) opening = undefined;
          });
          current = iter;
          // Stopped (the bus closing) while this watch was being opened: stop() saw the old one only.
          if (stopped || isClosed()) {
            iter.stop();
            return;
          }
          const seen = new Set<string>();
          let reconciled = false;
          const contentsDelivered = () => {
            if (reconciled) return;
            reconciled = true;
            for (const [key, change] of [...present]) {
              if (!seen.has(key)) deliver(deleted(change), key);
            }
            loadedNow();
          };
          if (status.values === 0) contentsDelivered();
          tries = 0;
          for await (const entry of iter) {
            seen.add(entry.key);
            const change = toChange(entry, log);
            if (change) deliver(change, entry.key);
            if (entry.isUpdate || entry.delta === 0) contentsDelivered();
          }
          if (stopped || isClosed()) return;
          if (restarting) log.info('watching the admin bucket again after a reconnect');
          else log.warn('the admin bucket watch ended; watching again');
          restarting = false;
        } catch (err) {
          if (stopped || isClosed()) return;
          tries++;
          // The bucket may be gone (a nats-server that lost its storage): open or make it again.
          this.#kv = undefined;
          log.warn({ err, attempt: tries }, 'could not watch the admin bucket; retrying');
        }
        const delayMs = Math.min(5000, 100 * 2 ** Math.min(tries, 6));
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    };
    void run();
    return {
      loaded,
      stop: async () => {
        stopped = true;
        current?.stop();
        const pending = opening;
        if (!pending) return;
        // Bounded: each of the opening's JetStream requests times out after PUBLISH_TIMEOUT_MS.
        await within(
          pending.then(
            (iter) => iter.stop(),
            () => undefined,
          ),
          2 * this.#ctx.config.PUBLISH_TIMEOUT_MS + 1000,
        );
      },
      restart: () => {
        if (stopped) return;
        // An ordered consumer goes on trying in silence when its stream is gone with a server's
        // storage: start over, opening (or making) the bucket again.
        restarting = true;
        this.#kv = undefined;
        current?.stop();
      },
    };
  }
}

function deleted(change: AdminChange): AdminChange {
  return change.kind === 'key'
    ? { kind: 'key', keyId: change.keyId, record: undefined }
    : { kind: 'tenant', tenantId: change.tenantId, settings: undefined, updatedAt: undefined, revision: 0 };
}

function toChange(entry: KvWatchEntry, log: BusContext['log']): AdminChange | undefined {
  const deleted = entry.operation !== 'PUT';
  if (entry.key.startsWith(KEY_PREFIX)) {
    const keyId = entry.key.slice(KEY_PREFIX.length);
    if (deleted) return { kind: 'key', keyId, record: undefined };
    const record = parse(entry, isKeyRecord);
    if (!record || record.key_id !== keyId) log.error({ key: entry.key }, 'an API key in the admin bucket is not valid; ignored');
    return { kind: 'key', keyId, record: record?.key_id === keyId ? record : undefined };
  }
  if (entry.key.startsWith(TENANT_PREFIX)) {
    const tenantId = entry.key.slice(TENANT_PREFIX.length);
    if (deleted) return { kind: 'tenant', tenantId, settings: undefined, updatedAt: undefined, revision: entry.revision };
    const settings = parse(entry, isTenantSettings);
    if (!settings) log.error({ key: entry.key }, 'tenant settings in the admin bucket are not valid; ignored');
    return { kind: 'tenant', tenantId, settings, updatedAt: settings ? entry.created.toISOString() : undefined, revision: entry.revision };
  }
  return undefined;
}

function parse<T>(entry: KvWatchEntry, check: (v: unknown) => v is T): T | undefined {
  try {
    const value: unknown = entry.json();
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
