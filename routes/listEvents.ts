// GET /v1/events: authenticate (onRequest hook, scope `read`), check the parameters the schema
// cannot (pattern syntax, position conflicts, the cursor), read one page of the key's tenant's
// history, answer it with a cursor to the next page.
import { CLOUDEVENTS_BATCH_JSON } from '../schemas/cloudevents.ts';
import { HISTORY_DEFAULT_LIMIT } from '../schemas/history.ts';
import { principalOf } from '../src/auth/authenticate.ts';
import { decodeCursor, encodeCursor, type HistoryFilters, sameFilters } from '../src/bus/index.ts';
import { toCloudEvent } from '../src/cloudevents.ts';
import { GatewayError } from '../src/errors.ts';
import { isTypePattern } from '../src/type-patterns.ts';
import type { Reply, Request } from './handler.ts';

type ListEventsQuery = Request<'listEvents'>['query'];

const invalid = (param: string, message: string) =>
  new GatewayError('GW_INVALID_REQUEST', `Invalid query parameter ${param}: ${message}`, {
    errors: [{ pointer: `querystring/${param}`, message }],
  });

/** The filters a query names, in canonical form; throws on a bad type pattern. */
function filtersOf(q: ListEventsQuery): HistoryFilters {
  const types = [...new Set((q.types ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()))].sort();
  for (const t of types) {
    if (!isTypePattern(t)) {
      throw invalid('types', `"${t}" is not a type pattern (order.created, order.* or *)`);
    }
  }
  return {
    // `*` and no patterns both mean every type: one canonical form, so cursors compare equal.
    types: types.includes('*') ? [] : types,
    correlationId: q.correlation_id,
    source: q.source,
    until: q.until === undefined ? undefined : Date.parse(q.until),
  };
}

export async function listEvents(req: Request<'listEvents'>, reply: Reply<'listEvents'>) {
  const { bus, config, quotas } = req.server;
  const tenantId = principalOf(req).tenantId;
  const limited = quotas.takeRead(tenantId);
  if (limited) reply.headers(limited);
  const q = req.query;
  if (q.from_seq !== undefined && q.since !== undefined) throw invalid('since', 'give from_seq or since, not both');
  if (q.since !== undefined && q.until !== undefined && Date.parse(q.since) > Date.parse(q.until)) {
    throw invalid('until', 'must not be before since');
  }
  let filters = filtersOf(q);
  let fromSeq: number | undefined = q.from_seq ?? 1;

  if (q.cursor !== undefined) {
    if (q.from_seq !== undefined || q.since !== undefined)
      throw invalid('cursor', 'the cursor carries the position; drop from_seq and since');
    const cursor = decodeCursor(q.cursor);
    if (!cursor) throw invalid('cursor', 'is not a cursor from this API; pass the `next` of a previous page');
    const named = q.types !== undefined || q.correlation_id !== undefined || q.source !== undefined || q.until !== undefined;
    if (named && !sameFilters(filters, cursor.filters)) {
      throw invalid('cursor', 'was issued for other filters; repeat the same filters or leave them out');
    }
    filters = cursor.filters;
    fromSeq = cursor.nextSeq;
  } else if (q.since !== undefined) {
    fromSeq = await bus.firstSeqSince(tenantId, q.since);
  }

  // Nothing stored at or after `since`: an empty, finished page.
  const page =
    fromSeq === undefined
      ? { events: [], nextSeq: undefined }
      : await bus.readHistory(tenantId, filters, fromSeq, {
          limit: q.limit ?? HISTORY_DEFAULT_LIMIT,
          timeBudgetMs: config.HISTORY_TIME_BUDGET_MS,
          maxScanned: config.HISTORY_MAX_SCAN,
        });
  req.log.debug({ events: page.events.length, from_seq: fromSeq, next_seq: page.nextSeq }, 'history page read');
  const next = page.nextSeq === undefined ? null : encodeCursor(page.nextSeq, filters);
  // A CloudEvents batch is a bare array: the cursor to read on travels in a Link header.
  if (req.headers.accept?.includes(CLOUDEVENTS_BATCH_JSON)) {
    if (next !== null) reply.header('link', `</v1/events?cursor=${encodeURIComponent(next)}>; rel="next"`);
    return reply.type(CLOUDEVENTS_BATCH_JSON).send(page.events.map((e) => toCloudEvent(e.event)) as never);
  }
  if (q.format === 'cloudevents') return { events: page.events.map((e) => ({ ...e, event: toCloudEvent(e.event) })), next };
  return { events: page.events, next };
}
