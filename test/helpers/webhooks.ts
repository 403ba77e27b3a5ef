// Webhook API calls for tests. A PUT is retried on 503 (bounded), as a client does: on a machine
// under heavy load, a JetStream request of the test's gateway can time out.
import type { FastifyInstance } from 'fastify';
import { call } from './consumers.ts';

export async function putWebhook(app: FastifyInstance, key: string, name: string, body: Record<string, unknown>) {
  let res = await call(app, key, 'PUT', `/v1/webhooks/${name}`, body);
  for (let tries = 1; res.status === 503 && tries < 5; tries++) {
    await new Promise((r) => setTimeout(r, 500 * tries));
    res = await call(app, key, 'PUT', `/v1/webhooks/${name}`, body);
  }
  return res;
}
