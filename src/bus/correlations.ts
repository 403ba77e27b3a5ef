// The trace of one workflow: every event sharing a correlation id, read through the per-subject
// index (history.ts), and a summary of what happened: when, which services and types took part,
// which steps failed or were cancelled, and what followed them (the saga's compensations).
import type { Static } from '@sinclair/typebox';
import type {
  Compensation as CompensationSchema,
  CorrelationSummary as CorrelationSummarySchema,
  CorrelationTrace as CorrelationTraceSchema,
  FailedStep as FailedStepSchema,
} from '../../schemas/history.ts';
import type { BusContext } from './context.ts';
import { readCorrelation, type StoredEvent } from './history.ts';

/** `data.status` values that mark a step as failed. */
const FAILED_STATUSES = new Set(['failed', 'failure', 'error', 'errored', 'cancelled', 'canceled', 'aborted', 'rejected']);

export type FailureRule = FailedStep['rule'];

export type FailedStep = Static<typeof FailedStepSchema>;

export type Compensation = Static<typeof CompensationSchema>;

export type CorrelationSummary = Static<typeof CorrelationSummarySchema>;

export type CorrelationTrace = Static<typeof CorrelationTraceSchema>;

/**
 * Whether an event records a failed or cancelled step, and by which rule:
 * its action is `failed` or `cancelled` (or ends in `_failed`/`_cancelled`); or its `data.error`
 * is present (not null or false); or its `data.status` is a failure word (FAILED_STATUSES).
 */
export function failureRule(event: StoredEvent['event']): FailureRule | undefined {
  const action = event.type.split('.')[1] ?? '';
  if (/(^|_)(failed|cancelled)$/.test(action)) return 'type';
  const data = event.data ?? {};
  if (data.error !== undefined && data.error !== null && data.error !== false) return 'data.error';
  if (typeof data.status === 'string' && FAILED_STATUSES.has(data.status.toLowerCase())) return 'data.status';
  return undefined;
}

function reasonOf(data: Record<string, unknown>): string | undefined {
  if (typeof data.reason === 'string') return data.reason;
  if (typeof data.error === 'string') return data.error;
  const message = (data.error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** The summary of a correlation's events (in sequence order; at least one). */
export function summarize(events: StoredEvent[]): CorrelationSummary {
  const sources = new Set<string>();
  const types = new Set<string>();
  const failures: FailedStep[] = [];
  const compensations: Compensation[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { seq, event } of events) {
    sources.add(event.source);
    types.add(event.type);
    // Producers set timestamps, so sequence order and time order can differ: report the extremes.
    const at = Date.parse(event.timestamp);
    if (at < first) first = at;
    if (at > last) last = at;
    const step = { seq, id: event.id, type: event.type, source: event.source, timestamp: event.timestamp };
    const previous = failures.at(-1);
    if (previous) compensations.push({ ...step, follows_seq: previous.seq });
    const rule = failureRule(event);
    if (rule) {
      const failure: FailedStep = { ...step, rule };
      const reason = reasonOf(event.data ?? {});
      if (reason !== undefined) failure.reason = reason;
      failures.push(failure);
    }
  }
  return {
    count: events.length,
    first_timestamp: new Date(first).toISOString(),
    last_timestamp: new Date(last).toISOString(),
    sources: [...sources],
    types: [...types],
    failed: failures.length > 0,
    failures,
    compensations,
  };
}

/** The trace of one correlation within a tenant, or undefined when the tenant has no such events. */
export async function traceCorrelation(
  bus: BusContext,
  tenant: string,
  correlationId: string,
  maxEvents: number,
): Promise<CorrelationTrace | undefined> {
  const { events, truncated } = await readCorrelation(bus, tenant, correlationId, maxEvents);
  if (events.length === 0) return undefined;
  return { correlation_id: correlationId, events, truncated, summary: summarize(events) };
}
