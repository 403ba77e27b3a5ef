// GET /v1/dead-letters: the tenant's dead letters, oldest first, a page at a time.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEAD_LETTERS_DEFAULT_LIMIT } from '../schemas/dead-letters.ts';
import { principalOf } from '../src/auth/authenticate.ts';

export async function listDeadLetters(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const q = req.query as { consumer?: string; after_seq?: number; limit?: number };
  const page = await req.server.gateway.bus.listDeadLetters(tenant, {
    consumer: q.consumer,
    afterSeq: q.after_seq ?? 0,
    limit: q.limit ?? DEAD_LETTERS_DEFAULT_LIMIT,
  });
  return reply.send(page);
}
