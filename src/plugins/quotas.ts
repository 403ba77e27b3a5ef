// Per-tenant quotas, as `app.quotas` (src/quotas/): routes take from it, the WebSocket route counts
// connections and subscriptions with it. Per-tenant overrides are the limits of the tenant settings
// (the admin API, watched by every instance: `app.tenants`), unless buildApp's `quotas` option
// gives a provider of its own; the refusal hook comes from that option or from another plugin
// (`app.quotas.setOnRateLimited`). Once the bus is ready the instance joins the others'
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
    let ready = false;
    let joining = false;

    if (!opts.overrides) {
      // The tenant settings' limits override the defaults. Only while some tenant has limits: with
      // none (and unlimited defaults) quotas stay off, at no cost per request and with no presence.
      const limited = new Set<string>();
      const fromSettings = (tenant: string) => app.tenants.settingsOf(tenant)?.limits;
      app.tenants.onChange((change) => {
        if (change.kind !== 'tenant') return;
        const limits = change.settings?.limits;
        if (limits && Object.values(limits).some((v) => v !== undefined)) limited.add(change.tenantId);
        else limited.delete(change.tenantId);
        quotas.setOverrides(limited.size > 0 ? fromSettings : undefined);
        joinWhenActive();
      });
    }

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
    // Only once something can be limited: a gateway without quotas needs no presence bucket.
    function joinWhenActive(): void {
      if (!ready || joining || closed || !quotas.active) return;
      joining = true;
      void join();
    }
    app.addHook('onReady', async () => {
      ready = true;
      joinWhenActive();
    });

    app.addHook('preClose', async () => {
      closed = true;
      quotas.close();
      await presence?.close();
    });
  },
  { name: 'quotas', fastify: '5.x', dependencies: ['config', 'auth', 'bus'] },
);
