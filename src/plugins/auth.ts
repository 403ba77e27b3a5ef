// API keys, as `app.apiKeys`, and `req.principal` (set by the onRequest hook of each route that
// needs a scope: requireScope in src/auth/authenticate.ts). The keys are given (tests), read from
// API_KEYS_FILE, or, with neither, dev mode: one demo tenant whose key is printed.
import fp from 'fastify-plugin';
import { ApiKeys } from '../auth/api-keys.ts';

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeys;
  }
}

export const authPlugin = fp<{ apiKeys?: ApiKeys }>(
  async function auth(app, opts) {
    const config = app.config;
    let apiKeys = opts.apiKeys;
    if (!apiKeys && config.API_KEYS_FILE) {
      apiKeys = ApiKeys.fromFile(config.API_KEYS_FILE);
      app.log.info({ keys: apiKeys.size }, 'API keys loaded');
    } else if (!apiKeys) {
      const dev = ApiKeys.devMode(config.DEV_TENANT_ID, config.DEV_API_KEY);
      apiKeys = dev.keys;
      app.log.warn({ tenant_id: config.DEV_TENANT_ID }, 'dev mode: no API_KEYS_FILE, using a demo tenant');
      // Printed plainly (not only logged) so a developer can copy it.
      process.stdout.write(`\n  dev mode: tenant ${config.DEV_TENANT_ID}, API key ${dev.key}\n  export KEY=${dev.key}\n\n`);
    }
    app.decorate('apiKeys', apiKeys);
    app.decorateRequest('principal', null);
  },
  { name: 'auth', fastify: '5.x', dependencies: ['config'] },
);
