// Reading a tenant's stored events back: `GET /v1/events` pages through history and
// `GET /v1/correlations/{id}` reads one workflow. Reads use JetStream batch direct gets
// (`allow_direct` is on the stream): no consumer is created, any replica can answer, and the
// server finds each next message through its per-subject index, so a filter on the correlation
// token costs what that correlation holds, not what the stream holds. Every filter is built
// inside `<prefix>.<tenant>.`; nothing here can address another tenant or the redrive space.

import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { type Msg, nanos } from '@nats-io/transport-node';
import type { Static } from '@sinclair/typebox';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import type { StoredEvent as StoredEventSchema } from '../../schemas/history.ts';
import { GatewayError } from '../errors.ts';
import { isCorrelationId } from '../../schemas/identifiers.ts';
import { isTypePattern } from '../type-patterns.ts';
import type { BusContext } from './context.ts';
import { PullStatus, translate, unavailable } from './errors.ts';
import { correlationSubject, parseEventSubject, tenantSubjects, typePatternSubjects } from './subjects.ts';

export { isTypePattern };

/** One stored event as the read endpoints answer it. */
export type StoredEvent = Static<typeof StoredEventSchema>;

/** The filters of a history read, in canonical form (what a cursor carries). */
export interface HistoryFilters {
  /** Type patterns, deduplicated and sorted; empty means every type. */
  types: string[];
  correlationId?: string | undefined;
  source?: string | undefined;
  /** Inclusive upper bound on the stored time, epoch ms. */
  until?: number | undefined;
}

export interface HistoryPage {
  events: StoredEvent[];
  /** Sequence to continue from, or undefined when the stored history (or `until`) was reached. */
  nextSeq: number | undefined;
}

export interface HistoryLimits {
  limit: number;
  /** Stop scanning after this long and hand back a cursor, even with fewer than `limit` events. */
  timeBudgetMs: number;
  /** Stop after looking at this many stored events (they can be dropped by `source`). */
  maxScanned: number;
}

/** Messages asked for per direct-get request, and a byte cap so one request cannot hold too much. */
const DIRECT_BATCH = 256;
const DIRECT_MAX_BYTES = 8 * 1024 * 1024;

interface RawMessage {
  seq: number;
  subject: string;
  storedAt: string;
  data: Uint8Array;
}

interface DirectBatchResult {
  messages: RawMessage[];
  /** Matching messages stored after this batch, as the server counted them when answering. */
  pending: number;
}

/**
 * One batch direct get: up to `batch` messages matching `filter` at or after `seq` (or after
 * `startTime`). Answers end with a `204 EOB` status carrying the remaining count; a `404` means
 * nothing matched.
 */
async function directBatch(
  bus: BusContext,
  filter: string,
  from: { seq: number } | { startTime: string },
  batch: number,
): Promise<DirectBatchResult> {
  // Fail fast rather than wait out the timeout while the client is reconnecting.
  if (!bus.connected) throw unavailable(bus.config, 'The event bus is not connected');
  if (!serverHasBatchGets(bus)) return singleGets(bus, filter, from, batch);
  const request: Record<string, unknown> = { next_by_subj: filter, batch, max_bytes: DIRECT_MAX_BYTES };
  if ('seq' in from) request.seq = from.seq;
  else request.start_time = from.startTime;
  const messages: RawMessage[] = [];
  let ended = false;
  let pending = 0;
  try {
    const replies = await bus.nc.requestMany(`$JS.API.DIRECT.GET.${bus.config.STREAM_NAME}`, JSON.stringify(request), {
      strategy: 'sentinel',
      maxWait: bus.config.PUBLISH_TIMEOUT_MS,
    });
    for await (const m of replies) {
      const status = statusOf(m);
      if (status === undefined) {
        messages.push(rawMessage(m));
        pending = Number(m.headers?.get('Nats-Num-Pending') ?? '0');
        continue;
      }
      ended = true;
      if (status === PullStatus.NoMessages) pending = 0;
      else if (status === PullStatus.EndOfBatch) pending = Number(m.headers?.get('Nats-Num-Pending') ?? '0');
      else throw new GatewayError('GW_NATS_UNAVAILABLE', `JetStream direct get failed: ${status} ${m.headers?.description ?? ''}`.trim());
      break;
    }
  } catch (err) {
    throw translate(err, bus.config);
  }
  if (!ended) {
    throw new GatewayError('GW_PUBLISH_TIMEOUT', `JetStream did not finish a history read within ${bus.config.PUBLISH_TIMEOUT_MS} ms`, {
      retryAfter: bus.config.RETRY_AFTER_SECONDS,
    });
  }
  return { messages, pending };
}

/** Batch direct gets (and their `start_time`) arrived in nats-server 2.11. */
function serverHasBatchGets(bus: BusContext): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(bus.nc.info?.version ?? '');
  return !m || Number(m[1]) > 2 || (Number(m[1]) === 2 && Number(m[2]) >= 11);
}

/**
 * nats-server 2.10: one direct get (`next_by_subj`, which 2.10 has) per message, same answers as a
 * batch. A start time is first turned into a sequence by a short-lived consumer. How many more
 * messages match is unknown, so a full batch reports DIRECT_BATCH pending and the reader asks again.
 */
async function singleGets(
  bus: BusContext,
  filter: string,
  from: { seq: number } | { startTime: string },
  batch: number,
): Promise<DirectBatchResult> {
  const messages: RawMessage[] = [];
  let seq = 'seq' in from ? from.seq : await firstSeqAtTime(bus, filter, from.startTime);
  if (seq === undefined) return { messages, pending: 0 };
  for (let i = 0; i < batch; i++) {
    let m: Msg;
    try {
      m = await bus.nc.request(`$JS.API.DIRECT.GET.${bus.config.STREAM_NAME}`, JSON.stringify({ seq, next_by_subj: filter }), {
        timeout: bus.config.PUBLISH_TIMEOUT_MS,
      });
    } catch (err) {
      throw translate(err, bus.config);
    }
    const status = statusOf(m);
    if (status === PullStatus.NoMessages) return { messages, pending: 0 };
    if (status !== undefined) {
      throw new GatewayError('GW_NATS_UNAVAILABLE', `JetStream direct get failed: ${status} ${m.headers?.description ?? ''}`.trim());
    }
    const raw = rawMessage(m);
    messages.push(raw);
    seq = raw.seq + 1;
  }
  return { messages, pending: DIRECT_BATCH };
}

async function firstSeqAtTime(bus: BusContext, filter: string, startTime: string): Promise<number | undefined> {
  const stream = bus.config.STREAM_NAME;
  try {
    const info = await bus.jsm.consumers.add(stream, {
      filter_subject: filter,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: startTime,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      inactive_threshold: nanos(30_000),
    });
    try {
      if (info.num_pending === 0) return undefined;
      const consumer = await bus.js.consumers.get(stream, info.name);
      const m = await consumer.next({ expires: bus.config.PUBLISH_TIMEOUT_MS });
      return m?.seq;
    } finally {
      await bus.jsm.consumers.delete(stream, info.name).catch(() => {});
    }
  } catch (err) {
    throw translate(err, bus.config);
  }
}

/** The status code of a headers-only status reply, undefined for a stored message. */
function statusOf(m: Msg): number | undefined {
  if (m.data.length > 0 || !m.headers) return undefined;
  const code = m.headers.code;
  return code > 0 ? code : undefined;
}

function rawMessage(m: Msg): RawMessage {
  const h = m.headers;
  return {
    seq: Number(h?.get('Nats-Sequence') ?? '0'),
    subject: h?.get('Nats-Subject') ?? '',
    storedAt: h?.get('Nats-Time-Stamp') ?? '',
    data: m.data,
  };
}

const utf8 = new TextDecoder();

/**
 * The stored event of a message, or undefined when it is not a well-formed event of `tenant`
 * (something published to the stream around the gateway); such messages are skipped, not served.
 */
function decode(bus: BusContext, tenant: string, raw: RawMessage): StoredEvent | undefined {
  const where = parseEventSubject(raw.subject);
  let event: EventEnvelope | undefined;
  try {
    event = JSON.parse(utf8.decode(raw.data)) as EventEnvelope;
  } catch {
    event = undefined;
  }
  if (!where || where.tenant !== tenant || !event || typeof event !== 'object' || event.tenant_id !== tenant) {
    bus.log.warn({ seq: raw.seq, subject: raw.subject }, 'skipped a stored message that is not an event of this tenant');
    return undefined;
  }
  // JetStream reports nanoseconds; RFC 3339 with milliseconds is what the rest of the API uses.
  return { seq: raw.seq, stored_at: new Date(Date.parse(raw.storedAt)).toISOString(), event };
}

/**
 * The subject filters of a history read: one per type pattern (a `*` pattern or no patterns
 * means the whole tenant), each narrowed to the correlation id when one is given. Patterns
 * covered by a broader one are dropped, so the filters never overlap.
 */
export function historyFilterSubjects(prefix: string, tenant: string, types: string[], correlationId?: string): string[] {
  // A type pattern's subject ends in the correlation token's `*`; a correlation id narrows it.
  const byCorrelation = (subject: string) => (correlationId === undefined ? subject : subject.replace(/\.\*$/, `.${correlationId}`));
  if (types.length === 0 || types.includes('*')) {
    return [correlationId === undefined ? tenantSubjects(prefix, tenant) : correlationSubject(prefix, tenant, correlationId)];
  }
  return typePatternSubjects(prefix, tenant, types).map(byCorrelation);
}

/** The first sequence of the tenant's events stored at or after `since`, or undefined if none. */
export async function firstSeqSince(bus: BusContext, tenant: string, since: string): Promise<number | undefined> {
  const { messages } = await directBatch(bus, tenantSubjects(bus.config.STREAM_SUBJECT_PREFIX, tenant), { startTime: since }, 1);
  const first = messages[0];
  // A start time after the last message makes nats-server (2.15) answer from the first one again.
  if (!first || Date.parse(first.storedAt) < Math.floor(Date.parse(since))) return undefined;
  return first.seq;
}

/**
 * One filter's messages, fetched a batch at a time as the merge consumes them. The first request
 * asks for one message: the server then finds it through its per-subject index and tells how many
 * more match (`Nats-Num-Pending`). Later requests ask for no more than that, because a batch left
 * unfilled makes nats-server walk every block after the last match looking for another one.
 */
class FilterReader {
  readonly #bus: BusContext;
  readonly #filter: string;
  #nextSeq: number;
  #buffer: RawMessage[] = [];
  #at = 0;
  /** Matching messages after the last one fetched; unknown before the first request. */
  #pending: number | undefined;

  constructor(bus: BusContext, filter: string, fromSeq: number) {
    this.#bus = bus;
    this.#filter = filter;
    this.#nextSeq = fromSeq;
  }

  /** The next message without consuming it; undefined when the filter has no more. */
  async peek(batch: number): Promise<RawMessage | undefined> {
    if (this.#at >= this.#buffer.length && this.#pending !== 0) {
      const want = this.#pending === undefined ? 1 : Math.min(batch, this.#pending);
      const { messages, pending } = await directBatch(this.#bus, this.#filter, { seq: this.#nextSeq }, want);
      this.#buffer = messages;
      this.#at = 0;
      this.#pending = messages.length === 0 ? 0 : pending;
      const last = messages.at(-1);
      if (last) this.#nextSeq = last.seq + 1;
    }
    return this.#buffer[this.#at];
  }

  shift(): void {
    this.#at++;
  }
}

/**
 * One page of a tenant's history from `fromSeq`, in sequence order: the filters' messages are
 * merged by sequence, `source` and `until` are applied to each, and the page ends at `limit`
 * events, at the end of the history, past `until`, or when the scan budget runs out.
 */
export async function readHistory(
  bus: BusContext,
  tenant: string,
  filters: HistoryFilters,
  fromSeq: number,
  limits: HistoryLimits,
): Promise<HistoryPage> {
  const subjects = historyFilterSubjects(bus.config.STREAM_SUBJECT_PREFIX, tenant, filters.types, filters.correlationId);
  const readers = subjects.map((s) => new FilterReader(bus, s, fromSeq));
  // A `source` filter drops events after they are read, so read full batches then.
  const batch = filters.source === undefined ? Math.min(DIRECT_BATCH, limits.limit + 1) : DIRECT_BATCH;
  const deadline = Date.now() + limits.timeBudgetMs;
  const events: StoredEvent[] = [];
  let scanned = 0;
  let position = fromSeq;

  for (;;) {
    // The lowest sequence across filters comes next; filters never overlap, so no duplicates.
    let next: { reader: FilterReader; msg: RawMessage } | undefined;
    for (const reader of readers) {
      const msg = await reader.peek(batch);
      if (msg && (!next || msg.seq < next.msg.seq)) next = { reader, msg };
    }
    if (!next) return { events, nextSeq: undefined };
    if (events.length >= limits.limit || scanned >= limits.maxScanned || Date.now() >= deadline) {
      return { events, nextSeq: position };
    }
    next.reader.shift();
    scanned++;
    position = next.msg.seq + 1;
    if (filters.until !== undefined && Date.parse(next.msg.storedAt) > filters.until) return { events, nextSeq: undefined };
    const stored = decode(bus, tenant, next.msg);
    if (!stored) continue;
    if (filters.source !== undefined && stored.event.source !== filters.source) continue;
    events.push(stored);
  }
}

export interface CorrelationRead {
  events: StoredEvent[];
  /** True when the correlation holds more than `maxEvents` events and only the first were read. */
  truncated: boolean;
}

/** Every event of one correlation id within a tenant, in sequence order, up to `maxEvents`. */
export async function readCorrelation(bus: BusContext, tenant: string, correlationId: string, maxEvents: number): Promise<CorrelationRead> {
  const reader = new FilterReader(bus, correlationSubject(bus.config.STREAM_SUBJECT_PREFIX, tenant, correlationId), 1);
  const events: StoredEvent[] = [];
  for (;;) {
    const msg = await reader.peek(Math.min(DIRECT_BATCH * 4, maxEvents + 1));
    if (!msg) return { events, truncated: false };
    if (events.length >= maxEvents) return { events, truncated: true };
    reader.shift();
    const stored = decode(bus, tenant, msg);
    if (stored) events.push(stored);
  }
}

/**
 * Cursors are opaque to clients: base64url JSON of a position and the filters it was issued for.
 * They carry no tenant (the key decides that), so a cursor handed to another tenant only moves
 * that tenant through its own events.
 */
export function encodeCursor(nextSeq: number, filters: HistoryFilters): string {
  const doc: Record<string, unknown> = { v: 1, p: nextSeq, t: filters.types };
  if (filters.correlationId !== undefined) doc.c = filters.correlationId;
  if (filters.source !== undefined) doc.s = filters.source;
  if (filters.until !== undefined) doc.u = filters.until;
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64url');
}

/** The position and filters of a cursor, or undefined when it is not one this gateway issued. */
export function decodeCursor(cursor: string): { nextSeq: number; filters: HistoryFilters } | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || doc.v !== 1) return undefined;
  const { p, t, c, s, u } = doc;
  if (!Number.isSafeInteger(p) || (p as number) < 1) return undefined;
  if (!Array.isArray(t) || t.some((x) => typeof x !== 'string' || !isTypePattern(x))) {
    return undefined;
  }
  if (c !== undefined && !isCorrelationId(c)) return undefined;
  if (s !== undefined && (typeof s !== 'string' || s.length < 1 || s.length > 256)) return undefined;
  if (u !== undefined && !Number.isSafeInteger(u)) return undefined;
  return {
    nextSeq: p as number,
    filters: {
      types: t as string[],
      correlationId: c as string | undefined,
      source: s as string | undefined,
      until: u as number | undefined,
    },
  };
}

/** Whether two canonical filter sets are the same. */
export function sameFilters(a: HistoryFilters, b: HistoryFilters): boolean {
  return (
    a.types.length === b.types.length &&
    a.types.every((t, i) => t === b.types[i]) &&
    a.correlationId === b.correlationId &&
    a.source === b.source &&
    a.until === b.until
  );
}
