// Webhook subscriptions: `app.webhooks` (the management the routes call, src/webhooks/webhooks.ts)
// and this instance's dispatcher (src/webhooks/dispatcher.ts), which starts once the bus is ready
// and stops in preClose, before the bus plugin drains NATS in onClose: requests under way get a
// moment to finish and acknowledge.
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { WebhookAddressPolicy } from '../webhook-addresses.ts';
import { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import { Webhooks } from '../webhooks/webhooks.ts';

/** How long shutdown waits for webhook requests under way (the rest are redelivered, maybe by another instance). */
const SHUTDOWN_WAIT_MS = 2000;

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: Webhooks;
  }
}

export const webhooksPlugin = fp(
  async function webhooks(app) {
    const { config, bus } = app;
    const policy = new WebhookAddressPolicy(config.WEBHOOK_ALLOWED_HOSTS, config.WEBHOOK_ALLOW_HTTP);
    const manager = new Webhooks(bus, config, policy);
    app.decorate('webhooks', manager);
    const dispatcher = new WebhookDispatcher(bus, manager, config, policy, app.log as Logger);
    void bus.ready.then(() => dispatcher.start());
    app.addHook('preClose', async () => {
      await dispatcher.stop(Math.min(SHUTDOWN_WAIT_MS, config.WEBHOOK_TIMEOUT));
    });
  },
  { name: 'webhooks', fastify: '5.x', dependencies: ['config', 'bus'] },
);
