// POST /v1/dead-letters/redrive: put chosen dead letters (by seq, or by filter) back to their
// consumer; one result per dead letter. With `dry_run`, only the count of what would be redriven.
import { REDRIVE_MAX } from '../schemas/dead-letters.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import type { Reply, Request } from './handler.ts';

export async function redriveDeadLetters(req: Request<'redriveDeadLetters'>, reply: Reply<'redriveDeadLetters'>) {
  const tenant = principalOf(req).tenantId;
  const body = req.body;
  const results = await req.server.bus.redriveDeadLetters(
    tenant,
    'seqs' in body ? { seqs: body.seqs } : { filter: body.filter, limit: body.limit ?? REDRIVE_MAX },
    { dryRun: body.dry_run === true },
  );
  if (body.dry_run === true) {
    const wouldRedrive = results.filter((r) => r.status === 'would_redrive').length;
    req.log.info({ would_redrive: wouldRedrive, asked: results.length }, 'dead letter redrive dry run');
    return reply.send({ results, redriven: 0, dry_run: true, would_redrive: wouldRedrive });
  }
  const redriven = results.filter((r) => r.status === 'redriven').length;
  req.log.info({ redriven, asked: results.length }, 'dead letters redriven');
  return reply.send({ results, redriven });
}
