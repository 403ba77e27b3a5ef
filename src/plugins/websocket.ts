// WebSocket subscriptions: @fastify/websocket and the `GET /v1/ws` route (routes/ws.ts), which
// decorates `app.wsSubscriptions`. Its preClose closes every socket with 1001 and deletes their
// consumers before the bus plugin drains NATS in onClose.
import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import { websocketOptions, wsRoute } from '../../routes/ws.ts';

export const websocketPlugin = fp(
  async function websocketSubscriptions(app) {
    await app.register(websocket, websocketOptions(app.config));
    await app.register(wsRoute);
  },
  { name: 'websocket', fastify: '5.x', dependencies: ['config', 'http', 'auth', 'bus'] },
);
