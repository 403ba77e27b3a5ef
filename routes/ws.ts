// GET /v1/ws: the WebSocket subscription endpoint (protocol: docs/websocket.md, frames:
// schemas/websocket.ts). The upgrade is authenticated like REST, before any upgrade happens: an
// `Authorization: Bearer` key with the `subscribe` scope, or a single-use `?ticket=` from
// POST /v1/ws-tickets for browsers. A refused upgrade is an ordinary problem+json answer.
import type { WebsocketPluginOptions } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { authorize, bearerKey, principalOf } from '../src/auth/authenticate.ts';
import type { Config } from '../src/config.ts';
import { GatewayError } from '../src/errors.ts';
import { WebSocketRegistry } from '../src/websocket/registry.ts';
import { principalOfTicket } from '../src/websocket/tickets.ts';

declare module 'fastify' {
  interface FastifyInstance {
    wsSubscriptions: WebSocketRegistry;
  }
}

/** Options for @fastify/websocket (registered by src/plugins/websocket.ts). */
export function websocketOptions(config: Pick<Config, 'WS_MAX_FRAME_BYTES'>): WebsocketPluginOptions {
  return {
    options: {
      // A hard cap for the transport (it answers 1009 above it); frames over WS_MAX_FRAME_BYTES but
      // under this are read and closed with 4009 by the connection, which can say why.
      maxPayload: config.WS_MAX_FRAME_BYTES * 2,
      perMessageDeflate: false,
    },
    // Replaces the plugin's default (close every socket without a code): 1001, and consumers
    // deleted, before NATS is drained in onClose.
    preClose: async function closeWebSockets(this: FastifyInstance) {
      await this.wsSubscriptions?.close();
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  };
}

export const wsRoute = fp(
  async function wsRoute(app: FastifyInstance) {
    const { bus, config, apiKeys, quotas } = app;
    const subscriptions = await WebSocketRegistry.start(bus, config, app.log as Logger, quotas);
    app.decorate('wsSubscriptions', subscriptions);

    async function authenticateUpgrade(req: FastifyRequest) {
      const ticket = (req.query as { ticket?: unknown }).ticket;
      if (req.headers.authorization === undefined && typeof ticket === 'string') {
        // The key it was traded for may have been revoked, or its tenant disabled, since.
        req.principal = await principalOfTicket(apiKeys, subscriptions.tickets, ticket, 'subscribe');
        return;
      }
      req.principal = authorize(apiKeys, bearerKey(req.headers.authorization), 'subscribe');
    }

    /**
     * The tenant's connection quota, before upgrading: over it, a 429 problem answer. The lease
     * lasts as long as the TCP connection, which after the upgrade is the WebSocket's; a handshake
     * that fails after this point destroys the socket, which releases it too.
     */
    function countConnection(req: FastifyRequest, _reply: unknown, done: (err?: Error) => void) {
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
        done();
        return;
      }
      try {
        const lease = quotas.openConnection(principalOf(req).tenantId);
        req.raw.socket.once('close', () => lease.release());
      } catch (err) {
        done(err as Error);
        return;
      }
      done();
    }

    app.route({
      method: 'GET',
      url: '/v1/ws',
      schema: { hide: true },
      onRequest: [authenticateUpgrade, countConnection],
      handler: async () => {
        throw new GatewayError('GW_INVALID_REQUEST', 'GET /v1/ws is a WebSocket endpoint: send an upgrade request');
      },
      wsHandler: (socket, req) => {
        subscriptions.accept(socket, principalOf(req), req.log as Logger);
      },
    });
  },
  { name: 'ws-subscriptions', dependencies: ['@fastify/websocket'] },
);
