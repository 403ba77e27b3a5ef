// POST /v1/ws-tickets: trades the caller's API key (subscribe scope, checked in onRequest) for a
// short-lived, single-use ticket a browser passes as `GET /v1/ws?ticket=`.
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function createWsTicket(req: Request<'createWsTicket'>, reply: Reply<'createWsTicket'>) {
  const principal = principalOf(req);
  const issued = req.server.wsSubscriptions.tickets.issue(principal);
  req.log.info({ tenant_id: principal.tenantId, expires_at: issued.expiresAt }, 'websocket ticket issued');
  return reply.code(201).header('Cache-Control', 'no-store').send({ ticket: issued.ticket, expires_at: issued.expiresAt.toISOString() });
}
