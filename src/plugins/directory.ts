// The admin bucket, live: the bus's watch of it feeds the key ring (`app.apiKeys`, which is also
// `app.tenants`), so keys made with the admin API work, and revoked keys and disabled tenants are
// refused, on every instance as soon as the change arrives. A disabled tenant's open WebSockets
// are closed with 4003, those opened with a revoked or expired key with 4001, and their event streams
// (SSE) end with `event: close`, reason `tenant_disabled` or `key_revoked`. Loading waits (bounded) for
// the bucket's contents when NATS is there, so an instance does not start by refusing valid keys.
import fp from 'fastify-plugin';
import { CLOSE_CODES } from '../../schemas/websocket.ts';
import type { Principal } from '../auth/api-keys.ts';
import { within } from '../deadline.ts';

/** The longest start waits for the admin bucket's contents. */
const FIRST_LOAD_WAIT_MS = 5000;

/** How often open WebSockets are checked for keys that expired since they opened. */
const EXPIRY_CHECK_MS = 1000;

export const directoryPlugin = fp(
  async function directory(app) {
    const ring = app.apiKeys;
    const watch = app.bus.watchAdmin((change) => ring.apply(change));
    const off = ring.onChange((change) => {
      const ws = app.wsSubscriptions;
      if (change.kind === 'tenant' && change.settings?.enabled === false) {
        const ofTenant = (p: Principal) => p.tenantId === change.tenantId;
        const n = ws.closeWhere(ofTenant, CLOSE_CODES.TENANT_DISABLED.code, 'tenant disabled');
        const streams = ws.endStreamsWhere(ofTenant, 'tenant_disabled', 'The tenant was disabled');
        app.log.info({ tenant_id: change.tenantId, websockets_closed: n, streams_ended: streams }, 'tenant disabled');
      } else if (change.kind === 'tenant') {
        app.log.info({ tenant_id: change.tenantId, enabled: change.settings?.enabled ?? true }, 'tenant settings changed');
      } else if (change.revoked) {
        const ofKey = (p: Principal) => p.keyId === change.keyId;
        const n = ws.closeWhere(ofKey, CLOSE_CODES.KEY_REVOKED.code, 'API key revoked');
        const streams = ws.endStreamsWhere(ofKey, 'key_revoked', 'The API key was revoked');
        app.log.info({ key_id: change.keyId, tenant_id: change.tenantId, websockets_closed: n, streams_ended: streams }, 'API key revoked');
      } else {
        app.log.info({ key_id: change.keyId, tenant_id: change.tenantId }, 'API key added');
      }
    });
    // A key's expiry is no event: open connections and streams are checked once a second (a pass
    // over this instance's connections, each a map lookup).
    const expiry = setInterval(() => {
      const expired = (p: Principal) => p.keyId !== undefined && !ring.keyValid(p.keyId);
      const n = app.wsSubscriptions.closeWhere(expired, CLOSE_CODES.KEY_REVOKED.code, 'API key expired');
      const streams = app.wsSubscriptions.endStreamsWhere(expired, 'key_revoked', 'The API key expired');
      if (n > 0 || streams > 0)
        app.log.info({ websockets_closed: n, streams_ended: streams }, 'websockets and streams of expired API keys ended');
    }, EXPIRY_CHECK_MS);
    expiry.unref();
    app.addHook('onClose', async () => {
      clearInterval(expiry);
      off();
      await watch.stop();
    });
    if (app.bus.connected) {
      await within(watch.loaded, FIRST_LOAD_WAIT_MS);
    }
  },
  { name: 'directory', fastify: '5.x', dependencies: ['auth', 'bus', 'websocket'] },
);
