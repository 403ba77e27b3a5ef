// GET /v1/dead-letters: the tenant's dead letters, oldest first, a page at a time.
import { DEAD_LETTERS_DEFAULT_LIMIT } from '../schemas/dead-letters.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function listDeadLetters(req: Request<'listDeadLetters'>, reply: Reply<'listDeadLetters'>) {
  const tenant = principalOf(req).tenantId;
  const q = req.query;
  const page = await req.server.bus.listDeadLetters(tenant, {
    consumer: q.consumer,
    afterSeq: q.after_seq ?? 0,
    limit: q.limit ?? DEAD_LETTERS_DEFAULT_LIMIT,
  });
  return reply.send(page);
}
