// POST /v1/dead-letters/redrive: put chosen dead letters (by seq, or by filter) back to their
// consumer; one result per dead letter.
import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REDRIVE_MAX, type RedriveRequest } from '../schemas/dead-letters.ts';
import { principalOf } from '../src/auth/authenticate.ts';

export async function redriveDeadLetters(req: FastifyRequest, reply: FastifyReply) {
  const tenant = principalOf(req).tenantId;
  const body = req.body as Static<typeof RedriveRequest>;
  const results = await req.server.gateway.bus.redriveDeadLetters(
    tenant,
    'seqs' in body ? { seqs: body.seqs } : { filter: body.filter, limit: body.limit ?? REDRIVE_MAX },
  );
  const redriven = results.filter((r) => r.status === 'redriven').length;
  req.log.info({ redriven, asked: results.length }, 'dead letters redriven');
  return reply.send({ results, redriven });
}
