// The NATS JetStream connection, as `app.bus`: connected (and the streams ensured) when the
// plugin loads, drained in onClose, after the WebSocket plugin closed its sockets in preClose.
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { EventBus } from '../bus/event-bus.ts';

declare module 'fastify' {
  interface FastifyInstance {
    bus: EventBus;
  }
}

export const busPlugin = fp(
  async function bus(app) {
    const bus = await EventBus.connect(app.config, app.log as Logger);
    app.decorate('bus', bus);
    app.addHook('onClose', async () => {
      await bus.close();
    });
  },
  { name: 'bus', fastify: '5.x', dependencies: ['config'] },
);
