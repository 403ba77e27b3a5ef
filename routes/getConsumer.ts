// GET /v1/consumers/{name}: the tenant's consumer, its definition and position.
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';
import type { Reply, Request } from './handler.ts';

export async function getConsumer(req: Request<'getConsumer'>, reply: Reply<'getConsumer'>) {
  const tenant = principalOf(req).tenantId;
  const { name } = req.params;
  const described = await req.server.bus.describeConsumer(tenant, name);
  if (!described) throw new GatewayError('GW_NOT_FOUND', `No consumer "${name}"`);
  return reply.send(described);
}
