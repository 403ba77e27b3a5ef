// Named durable consumers: the one definition shared by WebSocket consumer groups and HTTP pull
// consumers, so a WebSocket `group` and an HTTP consumer with the same name are the same consumer.
//
// - JetStream name `gwt<length of tenant>_<tenant>_<name>` (durableName), e.g. `gwt3_ten_alpha_x`
//   for tenant `ten` + `alpha_x` and `gwt9_ten_alpha_x` for tenant `ten_alpha` + `x`: the length
//   says where the tenant ends, so no two (tenant, name) pairs share a consumer and no tenant can
//   take another's names. Consumers made before this (`gw_<tenant>_<name>`, where `gw_a_b_c` was
//   both tenant `a_b` + `c` and tenant `a` + `b_c`) stay reachable: when the new name does not
//   exist, the old one is used if its metadata names this tenant and name (JetStream cannot rename
//   a consumer without losing its pending acks, so they keep the old name until deleted). The
//   prefixes differ (`gwt<digit>` vs `gw_`), so an old name can never be a new one.
//   The owning tenant and name are kept in the metadata too, and a consumer whose metadata names
//   another tenant is "not found" for this one. `name` matches NAME_PATTERN. The filter subjects
//   are always inside `<prefix>.<tenant>.` plus the consumer's own redrive subject, so a consumer
//   can only ever see its tenant's events.
// - Explicit acks; `ack_wait` and `max_deliver` per consumer (defaults CONSUMER_ACK_WAIT,
//   CONSUMER_MAX_DELIVER); `inactive_threshold` = CONSUMER_IDLE_TIMEOUT, so JetStream deletes
//   consumers nobody pulls from.
// - JetStream's `max_deliver` is set to the configured maximum + DEAD_LETTER_ATTEMPTS: the deliveries
//   beyond the configured maximum are the ones on which the gateway moves the event to the
//   dead-letter stream (see dead-letters.ts) instead of handing it to a client. More than one, so
//   a dead-letter publish that failed (bus trouble) is retried on the next redelivery instead of
//   leaving the event stranded at JetStream's limit.
// - `types`, the content filter and the configured max_deliver live in the consumer's metadata, so
//   any gateway instance can serve any consumer with no local state: `getDurableConsumer` rebuilds
//   everything (including the compiled filter) from one consumer-info call.
// - `from` ("new" | "all" | {seq} | {time}) only applies when the consumer is created; updating a
//   consumer never moves its position.

import { AckPolicy, type ConsumerConfig, type ConsumerInfo, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Static } from '@sinclair/typebox';
import { CONSUMER_NAME_PATTERN, type Consumer } from '../../schemas/consumers.ts';
import type { StartPosition } from '../../schemas/stream-selection.ts';
import { type ContentFilter, compileContentFilter } from '../content-filter.ts';
import { type FieldError, GatewayError } from '../errors.ts';
import { isTypePattern } from '../type-patterns.ts';
import type { BusContext } from './context.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';
import { redriveSubject, typePatternSubjects } from './subjects.ts';

export const NAME_PATTERN = CONSUMER_NAME_PATTERN;
const NAME_RE = new RegExp(NAME_PATTERN);
export const MAX_TYPES = 32;
export const ACK_WAIT_RANGE_MS = [1000, 12 * 3_600_000] as const;
export const MAX_DELIVER_RANGE = [1, 100] as const;
/** Deliveries JetStream makes beyond the configured maximum, each a chance to store the dead letter. */
export const DEAD_LETTER_ATTEMPTS = 3;

export type StartFrom = Static<typeof StartPosition>;

/** What a caller asks for. Omitted ack wait / max deliver take the configured defaults. */
export interface ConsumerSpec {
  /** Type patterns: `*`, `order.*` or `order.created`. */
  types: string[];
  filter?: Record<string, unknown> | undefined;
  from?: StartFrom | undefined;
  ackWaitMs?: number | undefined;
  maxDeliver?: number | undefined;
}

/** A consumer as stored in JetStream, rebuilt from its info. */
export interface DurableConsumer {
  tenant: string;
  name: string;
  /** The JetStream consumer name: `durableName(tenant, name)`, or the old `gw_<tenant>_<name>` of a consumer made before it. */
  durable: string;
  stream: string;
  types: string[];
  filter: Record<string, unknown> | undefined;
  /** The compiled content filter; matches every event when the consumer has none. */
  matcher: ContentFilter;
  from: StartFrom;
  ackWaitMs: number;
  /** Deliveries a client gets; the one after is dead-lettered. */
  maxDeliver: number;
  created: string;
}

/** A consumer's definition and position, as `GET /v1/consumers/{name}` answers it. */
export type ConsumerDescription = Static<typeof Consumer>;

const META = {
  tenant: 'gw_tenant',
  name: 'gw_name',
  types: 'gw_types',
  filter: 'gw_filter',
  from: 'gw_from',
  maxDeliver: 'gw_max_deliver',
} as const;

const MATCH_ALL: ContentFilter = { match: () => true };

/** The JetStream name of a tenant's durable consumer: injective in (tenant, name). */
export function durableName(tenant: string, name: string): string {
  return `gwt${tenant.length}_${tenant}_${name}`;
}

/** The name the gateway gave consumers before durableName: ambiguous, only looked up (see the header). */
export function legacyDurableName(tenant: string, name: string): string {
  return `gw_${tenant}_${name}`;
}

/** Throws GW_INVALID_REQUEST unless `name` is a valid consumer name. */
export function assertConsumerName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new GatewayError('GW_INVALID_REQUEST', 'A consumer name is 1-64 letters, digits, _ or -', {
      errors: [{ pointer: 'name', message: `must match ${NAME_PATTERN}` }],
    });
  }
}

/**
 * The filter subjects of a type list: overlapping patterns are dropped (JetStream refuses
 * overlapping filter subjects), and the consumer's redrive subject is always added.
 */
export function consumerSubjects(prefix: string, tenant: string, name: string, types: string[]): string[] {
  return [...typePatternSubjects(prefix, tenant, types), redriveSubject(prefix, tenant, name)];
}

/** What a consumer spec comes to once validated: the consumer's own settings. */
type Normalised = Pick<DurableConsumer, 'types' | 'filter' | 'matcher' | 'from' | 'ackWaitMs' | 'maxDeliver'>;

/** Validates a spec (GW_VALIDATION_FAILED / GW_INVALID_FILTER with pointers into a request body). */
export function normaliseSpec(ctx: BusContext, spec: ConsumerSpec): Normalised {
  const errors: FieldError[] = [];
  if (!Array.isArray(spec.types) || spec.types.length === 0 || spec.types.length > MAX_TYPES) {
    errors.push({ pointer: '/types', message: `must list 1 to ${MAX_TYPES} type patterns` });
  } else {
    spec.types.forEach((p, i) => {
      if (typeof p !== 'string' || !isTypePattern(p)) {
        errors.push({ pointer: `/types/${i}`, message: 'must be "*", "<domain>.*" or "<domain>.<action>"' });
      }
    });
  }
  const ackWaitMs = spec.ackWaitMs ?? ctx.config.CONSUMER_ACK_WAIT;
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < ACK_WAIT_RANGE_MS[0] || ackWaitMs > ACK_WAIT_RANGE_MS[1]) {
    errors.push({ pointer: '/ack_wait', message: `must be ${ACK_WAIT_RANGE_MS[0]} to ${ACK_WAIT_RANGE_MS[1]} ms` });
  }
  const maxDeliver = spec.maxDeliver ?? ctx.config.CONSUMER_MAX_DELIVER;
  if (!Number.isInteger(maxDeliver) || maxDeliver < MAX_DELIVER_RANGE[0] || maxDeliver > MAX_DELIVER_RANGE[1]) {
    errors.push({ pointer: '/max_deliver', message: `must be an integer from ${MAX_DELIVER_RANGE[0]} to ${MAX_DELIVER_RANGE[1]}` });
  }
  const from = spec.from ?? 'new';
  if (!validFrom(from)) {
    errors.push({ pointer: '/from', message: 'must be "new", "all", {"seq": n} (n >= 1) or {"time": "<RFC 3339>"}' });
  }
  if (errors.length > 0) throw new GatewayError('GW_VALIDATION_FAILED', 'The consumer definition is invalid', { errors });
  const matcher = spec.filter === undefined ? MATCH_ALL : compileContentFilter(spec.filter, { pointer: '/filter' });
  return { types: [...new Set(spec.types)].sort(), filter: spec.filter, matcher, from, ackWaitMs, maxDeliver };
}

function validFrom(from: unknown): from is StartFrom {
  if (from === 'new' || from === 'all') return true;
  if (typeof from !== 'object' || from === null) return false;
  const keys = Object.keys(from);
  if (keys.length !== 1) return false;
  const o = from as { seq?: unknown; time?: unknown };
  if (keys[0] === 'seq') return Number.isSafeInteger(o.seq) && (o.seq as number) >= 1;
  if (keys[0] === 'time') return typeof o.time === 'string' && !Number.isNaN(Date.parse(o.time));
  return false;
}

export function startPosition(from: StartFrom): Partial<ConsumerConfig> {
  if (from === 'new') return { deliver_policy: DeliverPolicy.New };
  if (from === 'all') return { deliver_policy: DeliverPolicy.All };
  if ('seq' in from) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.time).toISOString() };
}

/** The settings the gateway owns on a consumer, for both create and update. */
function updatableConfig(ctx: BusContext, tenant: string, name: string, n: Normalised) {
  const metadata: Record<string, string> = {
    [META.tenant]: tenant,
    [META.name]: name,
    [META.types]: JSON.stringify(n.types),
    [META.from]: JSON.stringify(n.from),
    [META.maxDeliver]: String(n.maxDeliver),
  };
  if (n.filter !== undefined) metadata[META.filter] = JSON.stringify(n.filter);
  return {
    ack_wait: nanos(n.ackWaitMs),
    max_deliver: n.maxDeliver + DEAD_LETTER_ATTEMPTS,
    inactive_threshold: nanos(ctx.config.CONSUMER_IDLE_TIMEOUT),
    filter_subjects: consumerSubjects(ctx.config.STREAM_SUBJECT_PREFIX, tenant, name, n.types),
    metadata,
  };
}

/** True when what the gateway owns on `info` already equals `wanted` (so no update is sent). */
function sameSettings(info: ConsumerInfo, wanted: ReturnType<typeof updatableConfig>): boolean {
  const c = info.config;
  const meta = c.metadata ?? {};
  const metaSame = Object.values(META).every((k) => meta[k] === wanted.metadata[k]);
  return (
    metaSame && c.ack_wait === wanted.ack_wait && c.max_deliver === wanted.max_deliver && c.inactive_threshold === wanted.inactive_threshold
  );
}

/** A consumer rebuilt from JetStream's info, or undefined when it is not the tenant's gateway consumer. */
export function fromConsumerInfo(info: ConsumerInfo, tenant: string): DurableConsumer | undefined {
  const meta = info.config.metadata ?? {};
  const name = meta[META.name];
  if (meta[META.tenant] !== tenant || name === undefined) return undefined;
  if (info.name !== durableName(tenant, name) && info.name !== legacyDurableName(tenant, name)) return undefined;
  try {
    const rawFilter = meta[META.filter];
    const filter = rawFilter === undefined ? undefined : (JSON.parse(rawFilter) as Record<string, unknown>);
    return {
      tenant,
      name,
      durable: info.name,
      stream: info.stream_name,
      types: JSON.parse(meta[META.types] ?? '[]') as string[],
      filter,
      matcher: filter === undefined ? MATCH_ALL : compileContentFilter(filter),
      from: JSON.parse(meta[META.from] ?? '"new"') as StartFrom,
      ackWaitMs: Math.round((info.config.ack_wait ?? 30e9) / 1e6),
      maxDeliver: Number(meta[META.maxDeliver] ?? (info.config.max_deliver ?? 1 + DEAD_LETTER_ATTEMPTS) - DEAD_LETTER_ATTEMPTS),
      created: info.created,
    };
  } catch {
    return undefined; // metadata not written by the gateway: not ours to serve
  }
}

/**
 * The info of the tenant's consumer `name`: under its name, else under the old name when that one's
 * metadata names this tenant and name. Undefined when neither is the tenant's; `taken` is the info
 * under the new name when it belongs to someone else (only possible for a consumer not made by
 * the gateway).
 */
async function tenantConsumerInfo(
  ctx: BusContext,
  tenant: string,
  name: string,
): Promise<{ info: ConsumerInfo; consumer: DurableConsumer } | { info: undefined; taken: ConsumerInfo | undefined }> {
  const current = await consumerInfo(ctx, durableName(tenant, name));
  if (current) {
    const consumer = fromConsumerInfo(current, tenant);
    return consumer ? { info: current, consumer } : { info: undefined, taken: current };
  }
  const legacy = await consumerInfo(ctx, legacyDurableName(tenant, name));
  const consumer = legacy ? fromConsumerInfo(legacy, tenant) : undefined;
  return legacy && consumer && consumer.name === name ? { info: legacy, consumer } : { info: undefined, taken: undefined };
}

async function consumerInfo(ctx: BusContext, durable: string): Promise<ConsumerInfo | undefined> {
  try {
    return await ctx.jsm.consumers.info(ctx.config.STREAM_NAME, durable);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw translate(err, ctx.config);
  }
}

export type EnsureOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the consumer, or updates the settings the gateway owns (types, filter, ack wait, max
 * deliver) to match `spec`. Idempotent, and safe when instances race: a lost create race turns
 * into an update. Throws GW_CONFLICT when the JetStream name belongs to another tenant.
 */
export async function ensureDurableConsumer(
  ctx: BusContext,
  tenant: string,
  name: string,
  spec: ConsumerSpec,
): Promise<DurableConsumer & { outcome: EnsureOutcome }> {
  assertConsumerName(name);
  const n = normaliseSpec(ctx, spec);
  const stream = ctx.config.STREAM_NAME;
  const wanted = updatableConfig(ctx, tenant, name, n);
  for (let tries = 0; tries < 4; tries++) {
    const found = await tenantConsumerInfo(ctx, tenant, name);
    const info = found.info;
    // The tenant's consumer under its name, or under the old name it was made with.
    const durable = info ? info.name : durableName(tenant, name);
    if (!info && found.taken) {
      throw new GatewayError('GW_CONFLICT', `The consumer name "${name}" is not available; choose another`);
    }
    if (info) {
      // The start position is fixed at creation: an update keeps the recorded one.
      wanted.metadata[META.from] = info.config.metadata?.[META.from] ?? JSON.stringify(n.from);
      if (sameSettings(info, wanted)) return { ...(fromConsumerInfo(info, tenant) as DurableConsumer), outcome: 'unchanged' };
      try {
        const updated = await ctx.jsm.consumers.update(stream, durable, wanted);
        ctx.log.info({ consumer: durable, types: n.types }, 'consumer updated');
        return { ...(fromConsumerInfo(updated, tenant) as DurableConsumer), outcome: 'updated' };
      } catch (err) {
        if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) continue; // deleted meanwhile: create
        throw translate(err, ctx.config);
      }
    }
    try {
      const created = await ctx.jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ...startPosition(n.from),
        ...wanted,
      });
      ctx.log.info({ consumer: durable, types: n.types, from: n.from }, 'consumer created');
      return { ...(fromConsumerInfo(created, tenant) as DurableConsumer), outcome: 'created' };
    } catch (err) {
      // Another instance created it between our info and add: go round and update instead.
      if (isApiError(err, JetStreamApiCodes.ConsumerAlreadyExists) || isApiError(err, JetStreamApiCodes.ConsumerNameExists)) continue;
      throw translate(err, ctx.config);
    }
  }
  throw new GatewayError('GW_CONFLICT', `The consumer "${name}" is being changed concurrently; retry`);
}

/** The tenant's consumer of that name, or undefined. */
export async function getDurableConsumer(ctx: BusContext, tenant: string, name: string): Promise<DurableConsumer | undefined> {
  assertConsumerName(name);
  const found = await tenantConsumerInfo(ctx, tenant, name);
  return found.info ? found.consumer : undefined;
}

/** Deletes the tenant's consumer; false when there was none. Its dead letters stay. */
export async function deleteDurableConsumer(ctx: BusContext, tenant: string, name: string): Promise<boolean> {
  const consumer = await getDurableConsumer(ctx, tenant, name);
  if (!consumer) return false;
  try {
    await ctx.jsm.consumers.delete(ctx.config.STREAM_NAME, consumer.durable);
    ctx.log.info({ consumer: consumer.durable }, 'consumer deleted');
    return true;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return false;
    throw translate(err, ctx.config);
  }
}

/** Configuration and position of the tenant's consumer, or undefined. */
export async function describeConsumer(ctx: BusContext, tenant: string, name: string): Promise<ConsumerDescription | undefined> {
  assertConsumerName(name);
  const found = await tenantConsumerInfo(ctx, tenant, name);
  if (!found.info) return undefined;
  return describe(found.info, found.consumer);
}

/** What the API says of a consumer: its definition and its position. */
function describe(info: ConsumerInfo, c: DurableConsumer): ConsumerDescription {
  const out: ConsumerDescription = {
    name: c.name,
    types: c.types,
    from: c.from,
    ack_wait: c.ackWaitMs,
    max_deliver: c.maxDeliver,
    pending: info.num_pending,
    unacked: info.num_ack_pending,
    redelivered: info.num_redelivered,
    last_delivered_seq: info.delivered.stream_seq,
    ack_floor_seq: info.ack_floor.stream_seq,
    created: c.created,
  };
  if (c.filter !== undefined) out.filter = c.filter;
  return out;
}

/**
 * Every durable consumer of the tenant, by name: those under its `gwt<len>_<tenant>_` prefix and
 * the old `gw_<tenant>_` names whose metadata names this tenant (fromConsumerInfo checks both the
 * metadata and that the name is the one the gateway gives it, so a prefix shared with another
 * tenant's legacy name, `gw_a_b_c`, is never listed for the wrong one). JetStream lists the
 * stream's consumers a page at a time, every tenant's: the filter is here.
 */
export async function listDurableConsumers(ctx: BusContext, tenant: string): Promise<(ConsumerDescription & { last_active?: string })[]> {
  const prefix = durableName(tenant, '');
  const legacyPrefix = legacyDurableName(tenant, '');
  const byName = new Map<string, { item: ConsumerDescription & { last_active?: string }; current: boolean }>();
  try {
    for await (const info of ctx.jsm.consumers.list(ctx.config.STREAM_NAME)) {
      if (!info.name.startsWith(prefix) && !info.name.startsWith(legacyPrefix)) continue;
      const c = fromConsumerInfo(info, tenant);
      if (!c) continue;
      const item: ConsumerDescription & { last_active?: string } = describe(info, c);
      const lastActive = latest(info.delivered.last_active, info.ack_floor.last_active);
      if (lastActive !== undefined) item.last_active = lastActive;
      // A consumer under both names (an old one kept, a new one made since) is listed once: the new one.
      const current = info.name === durableName(tenant, c.name);
      if (current || !byName.get(c.name)?.current) byName.set(c.name, { item, current });
    }
  } catch (err) {
    throw translate(err, ctx.config);
  }
  return [...byName.values()].map((e) => e.item).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The later of JetStream's `last_active` times (RFC 3339 strings on the wire, though typed as numbers), as ISO. */
function latest(...times: unknown[]): string | undefined {
  let best: number | undefined;
  for (const t of times) {
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    // A zero time (`0001-01-01T00:00:00Z`) is "never".
    if (Number.isFinite(ms) && ms > 0 && (best === undefined || ms > best)) best = ms;
  }
  return best === undefined ? undefined : new Date(best).toISOString();

}

/** One durable consumer's backlog, as a metrics sample reads it. */
export interface ConsumerBacklog {
  tenant: string;
  /** The name its tenant knows it by. */
  consumer: string;
  /** Events matching its filter not yet delivered. */
  pending: number;
  /** Events delivered and not yet acknowledged. */
  ackPending: number;
}

/**
 * The backlog of at most `max` of the gateway's durable consumers (those carrying its metadata; the
 * consumers of replays and client-ack subscriptions are not listed), read in pages of the stream's
 * consumer list, of which at most max(4 × max, 1024) entries are looked at: a bounded cost
 * whatever the number of consumers.
 */
export async function sampleDurableConsumers(ctx: BusContext, max: number): Promise<ConsumerBacklog[]> {
  const out: ConsumerBacklog[] = [];
  // The list holds the consumers of replays and client-ack subscriptions too: scan a bounded number.
  const maxScanned = Math.max(4 * max, 1024);
  let scanned = 0;
  for await (const info of ctx.jsm.consumers.list(ctx.config.STREAM_NAME)) {
    if (++scanned > maxScanned) break;
    const meta = info.config.metadata ?? {};
    const tenant = meta[META.tenant];
    const consumer = meta[META.name];
    if (info.config.durable_name === undefined || tenant === undefined || consumer === undefined) continue;
    out.push({ tenant, consumer, pending: info.num_pending, ackPending: info.num_ack_pending });
    if (out.length >= max) break;
  }
  return out;
}
