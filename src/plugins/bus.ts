// The NATS JetStream connection, as `app.bus`. Loading waits for the first connection attempt
// only: with NATS up, the app is ready once connected and the streams are ensured, as before; with
// NATS unreachable it loads at once (the gateway listens, `/readyz` and every bus call answer 503
// GW_NOT_READY) while the bus goes on connecting in the background, each attempt logged. Drained
// in onClose, after the WebSocket plugin closed its sockets in preClose.
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { EventBus } from '../bus/event-bus.ts';
import { within } from '../deadline.ts';

/** The longest the app waits for the bus's first attempt before it loads without it. */
const FIRST_ATTEMPT_WAIT_MS = 6000;

declare module 'fastify' {
  interface FastifyInstance {
    bus: EventBus;
  }
}

export const busPlugin = fp(
  async function bus(app) {
    const bus = EventBus.start(app.config, app.log as Logger);
    app.decorate('bus', bus);
    app.addHook('onClose', async () => {
      await bus.close();
    });
    // Bounded, so a slow first attempt cannot run into fastify's plugin timeout either.
    await within(bus.started, FIRST_ATTEMPT_WAIT_MS);
  },
  { name: 'bus', fastify: '5.x', dependencies: ['config'] },
);
