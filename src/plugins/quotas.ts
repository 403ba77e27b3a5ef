// Per-tenant quotas, as `app.quotas` (src/quotas/): routes take from it, the WebSocket route counts
// connections and subscriptions with it. Per-tenant overrides and the refusal hook come from
// buildApp's `quotas` option, or later from another plugin (`app.quotas.setOverrides`,
// `setOnRateLimited`) before the app is ready. Once the bus is ready the instance joins the others'
// presence (src/bus/presence.ts) so limits hold across instances; until then, or with NATS away,
// it enforces the limits as if it were alone. Left in preClose, so the others take its share back
// at once.
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Presence } from '../bus/index.ts';
import { type QuotaOptions, Quotas } from '../quotas/quotas.ts';

declare module 'fastify' {
  interface FastifyInstance {
    quotas: Quotas;
  }
}

export const quotasPlugin = fp<QuotaOptions>(
  async function quotas(app, opts) {
    const quotas = new Quotas(app.config, { overrides: opts.overrides, onRateLimited: opts.onRateLimited });
    app.decorate('quotas', quotas);
    const intervalMs = app.config.QUOTA_SYNC_INTERVAL;
    let presence: Presence | undefined;
    let closed = false;

    const join = async () => {
      await app.bus.ready;
      for (let tries = 1; !closed && tries <= 1_000_000; tries++) {
        try {
          const joined = await app.bus.openPresence({
            instance: randomUUID(),
            intervalMs,
            state: () => quotas.state(),
            onPeers: (peers) => quotas.setPeers(peers),
          });
          if (closed) {
            await joined.close();
            return;
          }
          presence = joined;
          quotas.attach(() => joined.announce());
          app.log.debug('joined the instance presence for quotas');
          return;
        } catch (err) {
          app.log.warn({ err, attempt: tries }, 'could not join the instance presence; quotas hold per instance until it works');
          await new Promise((resolve) => setTimeout(resolve, intervalMs * Math.min(tries, 10)).unref());
        }
      }
    };
    // Only when something can be limited (decided once every plugin could set an override
    // provider): a gateway without quotas needs no presence bucket.
    app.addHook('onReady', async () => {
      if (quotas.active) void join();
    });

    app.addHook('preClose', async () => {
      closed = true;
      quotas.close();
      await presence?.close();
    });
  },
  { name: 'quotas', fastify: '5.x', dependencies: ['config', 'bus'] },
);
