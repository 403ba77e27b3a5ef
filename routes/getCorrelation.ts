// GET /v1/correlations/{correlation_id}: authenticate (onRequest hook, scope `read`), read every
// event of the correlation within the key's tenant, answer them with their summary. Another
// tenant's correlation is indistinguishable from one that does not exist.
import { principalOf } from '../src/auth/authenticate.ts';
import { GatewayError } from '../src/errors.ts';
import type { Reply, Request } from './handler.ts';

export async function getCorrelation(req: Request<'getCorrelation'>, reply: Reply<'getCorrelation'>) {
  const { bus, config, quotas } = req.server;
  const tenantId = principalOf(req).tenantId;
  const limited = quotas.takeRead(tenantId);
  if (limited) reply.headers(limited);
  const { correlation_id: correlationId } = req.params;
  const trace = await bus.traceCorrelation(tenantId, correlationId, config.CORRELATION_MAX_EVENTS);
  if (!trace) throw new GatewayError('GW_NOT_FOUND', `No events with correlation id "${correlationId}"`);
  req.log.debug({ correlation_id: correlationId, events: trace.events.length, truncated: trace.truncated }, 'correlation read');
  return trace;
}
