// API keys, as `app.apiKeys` (a KeyRing, src/auth/key-ring.ts), the tenant settings as
// `app.tenants` (the same ring, seen as a TenantDirectory), and `req.principal` (set by the
// onRequest hook of each route that needs a scope: requireScope in src/auth/authenticate.ts).
// Static keys are given (tests), or read from API_KEYS_FILE, which is read again when it changes
// (a watch of its directory, debounced) and on `app.reloadApiKeys()` (SIGHUP, src/main.ts): a file
// that does not load keeps the keys in force and logs why. ADMIN_API_KEY adds a bootstrap admin
// key. With none of these, dev mode: one demo tenant whose key is printed. Keys made with the
// admin API arrive through the admin bucket (src/plugins/directory.ts).
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import fp from 'fastify-plugin';
import { ApiKeyFileError, ApiKeys } from '../auth/api-keys.ts';
import { KeyRing, type TenantDirectory } from '../auth/key-ring.ts';

/** The tenant a bootstrap admin key (ADMIN_API_KEY) acts for: none of the events, only the admin API. */
export const ADMIN_TENANT_ID = '_admin';

/** Quiet time after the last change of the key file before it is read (editors write in steps). */
const RELOAD_DEBOUNCE_MS = 200;

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: KeyRing;
    tenants: TenantDirectory;
    /** Reads API_KEYS_FILE again; false (the keys in force kept, the error logged) when it does not load or is unset. */
    reloadApiKeys(): boolean;
  }
}

export const authPlugin = fp<{ apiKeys?: ApiKeys }>(
  async function auth(app, opts) {
    const config = app.config;
    const file = config.API_KEYS_FILE;
    let fileKeys = opts.apiKeys;
    if (!fileKeys && file) {
      fileKeys = ApiKeys.fromFile(file);
      app.log.info({ keys: fileKeys.size }, 'API keys loaded');
    }
    const bootstrap = new ApiKeys();
    if (config.ADMIN_API_KEY) {
      const k = config.ADMIN_API_KEY;
      bootstrap.add(ADMIN_TENANT_ID, k.startsWith('sha256:') ? k.slice(7) : ApiKeys.digestOf(k), ['admin']);
    }
    if (!fileKeys && !config.ADMIN_API_KEY) {
      const dev = ApiKeys.devMode(config.DEV_TENANT_ID, config.DEV_API_KEY);
      fileKeys = dev.keys;
      app.log.warn({ tenant_id: config.DEV_TENANT_ID }, 'dev mode: no API_KEYS_FILE, using a demo tenant');
      // Printed plainly (not only logged) so a developer can copy it.
      process.stdout.write(`\n  dev mode: tenant ${config.DEV_TENANT_ID}, API key ${dev.key}\n  export KEY=${dev.key}\n\n`);
    }
    const ring = new KeyRing(fileKeys, bootstrap);
    app.decorate('apiKeys', ring);
    app.decorate('tenants', ring);
    app.decorateRequest('principal', null);

    // What the file held when last loaded: a directory event that changed nothing in it is no reload.
    let loadedText = file ? readText(file) : undefined;
    const reload = (why: string): boolean => {
      if (!file) return false;
      try {
        const text = readText(file);
        if (why === 'file changed' && text === loadedText) return true;
        const keys = ApiKeys.fromFile(file);
        ring.replaceFileKeys(keys);
        loadedText = text;
        app.log.info({ keys: keys.size, why }, 'API keys reloaded');
        return true;
      } catch (err) {
        const message = err instanceof ApiKeyFileError ? err.message : String(err);
        app.log.error({ why, error: message }, 'API keys not reloaded: the file does not load; the keys in force are kept');
        return false;
      }
    };
    app.decorate('reloadApiKeys', () => reload('reload'));

    if (file) {
      // The directory, not the file: editors and config management replace the file (a rename),
      // which ends a watch on the file itself.
      let timer: NodeJS.Timeout | undefined;
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(dirname(file), (_event, name) => {
          // The file, or a `..data`-style symlink swap (a Kubernetes ConfigMap volume) behind it.
          if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
          clearTimeout(timer);
          timer = setTimeout(() => reload('file changed'), RELOAD_DEBOUNCE_MS);
        });
        watcher.on('error', (err) => app.log.warn({ err }, 'API_KEYS_FILE watch failed; SIGHUP still reloads'));
      } catch (err) {
        app.log.warn({ err }, 'cannot watch API_KEYS_FILE for changes; SIGHUP reloads it');
      }
      app.addHook('onClose', async () => {
        clearTimeout(timer);
        watcher?.close();
      });
    }
  },
  { name: 'auth', fastify: '5.x', dependencies: ['config'] },
);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
