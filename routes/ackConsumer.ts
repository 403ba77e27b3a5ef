// POST /v1/consumers/{name}/ack: acks and naks by token, one outcome per token in request order.
// Tokens are verified (signature, tenant, consumer, expiry) before anything reaches NATS.
import { principalOf } from '../src/auth/authenticate.ts';
import { settle } from '../src/delivery/sinks/http-fetch.ts';
import type { Reply, Request } from './handler.ts';

export async function ackConsumer(req: Request<'ackConsumer'>, reply: Reply<'ackConsumer'>) {
  const gateway = req.server;
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const body = req.body;
  const tokens = gateway.ackTokens;
  const who = { tenant, consumer: name };
  const [acks, naks] = await Promise.all([
    Promise.all((body.acks ?? []).map((token) => settle(gateway.bus, tokens, token, who, { kind: 'ack' }))),
    Promise.all(
      (body.naks ?? []).map((n) =>
        typeof n === 'string'
          ? settle(gateway.bus, tokens, n, who, { kind: 'nak' })
          : settle(gateway.bus, tokens, n.token, who, { kind: 'nak', delayMs: n.delay_ms }),
      ),
    ),
  ]);
  return reply.send({ acks, naks });
}
