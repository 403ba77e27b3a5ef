// Dead letters: events a consumer failed to process `max_deliver` times are kept, not lost.
//
// JetStream's own `max_deliver` only stops delivering, so durable consumers are created with a few
// deliveries to spare (durable-consumers.ts, DEAD_LETTER_ATTEMPTS). The delivery engine
// (src/delivery/engine.ts) calls `deadLetterIfExhausted` on each message before handing it out: on
// the first delivery beyond the configured maximum the event is published to the dead-letter
// stream (DEAD_LETTER_STREAM, subjects `<prefix>_dlq.<tenant>.<consumer>`, headers carrying reason,
// delivery count, original sequence and consumer) with the msgID
// `<durable>:<consumer created>:<stream seq>`, so a crash between the publish and the `term` cannot
// store it twice; only once JetStream acknowledged the dead letter is the original `term`ed.
// Redrive republishes a dead letter to `redriveSubject(prefix, tenant, consumer)` in the main
// stream, which only that consumer (or, for `webhook:<name>`, that webhook's consumer) filters on, and deletes it from the dead-letter stream once the
// republish is acknowledged.

import type { StoredMsg } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { Static } from '@sinclair/typebox';
import type { DeadLetter, RedriveItem } from '../../schemas/dead-letters.ts';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import { GatewayError } from '../errors.ts';
import { typeMatcher } from '../type-patterns.ts';
import type { BusContext } from './context.ts';
import type { DeadLetterTarget } from './delivered.ts';
import { getDurableConsumer } from './durable-consumers.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';
import { deadLetterSubject, redriveSubject } from './subjects.ts';
import { webhookConsumerExists, webhookOfDeadLetterName } from './webhooks.ts';

export type { DeadLetterTarget } from './delivered.ts';
export { ensureDeadLetterStream } from './streams.ts';

/** What dead-lettering needs of a delivered message; a nats.js `JsMsg` is one. */
export interface DeliveredMessage {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs | undefined;
  info: { deliveryCount: number; streamSequence: number };
  term(reason?: string): void;
}

export const DEAD_LETTER_HEADERS = {
  reason: 'Gw-Dead-Letter-Reason',
  deliveryCount: 'Gw-Delivery-Count',
  originalSeq: 'Gw-Original-Seq',
  originalSubject: 'Gw-Original-Subject',
  consumer: 'Gw-Consumer',
  tenant: 'Gw-Tenant',
} as const;

export type DeadLetterReason = 'max_deliver_exceeded' | 'undecodable';

/**
 * Stores `msg` in the dead-letter stream, waits for JetStream's acknowledgement, then `term`s the
 * original so it is never delivered again. Throws (leaving the original to be redelivered and
 * dead-lettered on a later attempt) when the dead letter could not be stored.
 */
export async function deadLetter(
  ctx: BusContext,
  msg: DeliveredMessage,
  consumer: DeadLetterTarget,
  reason: DeadLetterReason,
): Promise<void> {
  const h = headers();
  h.set(DEAD_LETTER_HEADERS.reason, reason);
  h.set(DEAD_LETTER_HEADERS.deliveryCount, String(msg.info.deliveryCount));
  h.set(DEAD_LETTER_HEADERS.originalSeq, String(msg.info.streamSequence));
  h.set(DEAD_LETTER_HEADERS.originalSubject, msg.subject);
  h.set(DEAD_LETTER_HEADERS.consumer, consumer.name);
  h.set(DEAD_LETTER_HEADERS.tenant, consumer.tenant);
  try {
    const ack = await ctx.js.publish(deadLetterSubject(ctx.config.STREAM_SUBJECT_PREFIX, consumer.tenant, consumer.name), msg.data, {
      msgID: `${consumer.durable}:${consumer.created ?? ''}:${msg.info.streamSequence}`,
      headers: h,
      timeout: ctx.config.PUBLISH_TIMEOUT_MS,
    });
    ctx.log.warn(
      { consumer: consumer.durable, seq: msg.info.streamSequence, deliveries: msg.info.deliveryCount, dlq_seq: ack.seq, reason },
      'event dead-lettered',
    );
  } catch (err) {
    throw translate(err, ctx.config);
  }
  msg.term(reason);
}

/**
 * True when `msg` was delivered more often than the consumer allows: it is then dead-lettered and
 * the caller must not hand it to a client. Call it on every message before delivering it.
 */
export async function deadLetterIfExhausted(ctx: BusContext, msg: DeliveredMessage, consumer: DeadLetterTarget): Promise<boolean> {
  if (msg.info.deliveryCount <= consumer.maxDeliver) return false;
  await deadLetter(ctx, msg, consumer, 'max_deliver_exceeded');
  return true;
}

// --- reading and redriving ---

export type DeadLetterRecord = Static<typeof DeadLetter>;

function toRecord(m: StoredMsg): DeadLetterRecord {
  let event: EventEnvelope | null = null;
  try {
    event = m.json<EventEnvelope>();
  } catch {
    event = null;
  }
  const h = m.header;
  return {
    seq: m.seq,
    consumer: h.get(DEAD_LETTER_HEADERS.consumer),
    reason: h.get(DEAD_LETTER_HEADERS.reason),
    delivery_count: Number(h.get(DEAD_LETTER_HEADERS.deliveryCount)) || 0,
    original_seq: Number(h.get(DEAD_LETTER_HEADERS.originalSeq)) || 0,
    dead_lettered_at: m.time.toISOString(),
    event,
  };
}

async function directGet(ctx: BusContext, query: { seq: number; next_by_subj?: string }): Promise<StoredMsg | null> {
  try {
    return await ctx.jsm.direct.getMessage(ctx.config.DEAD_LETTER_STREAM, query);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.NoMessageFound)) return null;
    throw translate(err, ctx.config);
  }
}

function tenantFilter(ctx: BusContext, tenant: string, consumer?: string): string {
  return deadLetterSubject(ctx.config.STREAM_SUBJECT_PREFIX, tenant, consumer ?? '*');
}

export interface DeadLetterQuery {
  /** Only dead letters after this dead-letter sequence (paging cursor). */
  afterSeq?: number;
  limit: number;
  consumer?: string | undefined;
  /** Type patterns (`*`, `order.*`, `order.created`); any when omitted. */
  types?: string[] | undefined;
}

/**
 * The tenant's dead letters in sequence order, `limit` at a time. `next_after_seq` is set when
 * there may be more; pass it back as `afterSeq`. At most `limit * 4` stored messages are read per
 * call when a type filter skips some, so one call stays bounded.
 */
export async function listDeadLetters(
  ctx: BusContext,
  tenant: string,
  q: DeadLetterQuery,
): Promise<{ dead_letters: DeadLetterRecord[]; next_after_seq?: number }> {
  const subject = tenantFilter(ctx, tenant, q.consumer);
  const out: DeadLetterRecord[] = [];
  let seq = (q.afterSeq ?? 0) + 1;
  let lastRead = q.afterSeq ?? 0;
  const matches = typeMatcher(q.types ?? []);
  for (let reads = 0; out.length < q.limit && reads < q.limit * 4; reads++) {
    const m = await directGet(ctx, { seq, next_by_subj: subject });
    if (!m) return { dead_letters: out };
    lastRead = m.seq;
    seq = m.seq + 1;
    const record = toRecord(m);
    // With type patterns, a dead letter that is not an event (undecodable) matches none.
    if (q.types === undefined || q.types.length === 0 || (record.event && matches(record.event.type))) out.push(record);
  }
  return { dead_letters: out, next_after_seq: lastRead };
}

export type RedriveResult = Static<typeof RedriveItem>;

/**
 * Puts dead letters back to their consumer: by dead-letter sequence, or every one of the tenant's
 * that matches `filter` (up to `limit`). Each is republished to its consumer's redrive subject and
 * removed from the dead-letter stream once the republish is acknowledged. A sequence that is not
 * the tenant's answers `not_found`, exactly like one that does not exist. A dry run chooses and
 * checks the same way and changes nothing (`would_redrive` where a redrive would republish).
 */
export async function redriveDeadLetters(
  ctx: BusContext,
  tenant: string,
  what: { seqs: number[] } | { filter: { consumer?: string | undefined; types?: string[] | undefined }; limit: number },
  opts: { dryRun?: boolean } = {},
): Promise<RedriveResult[]> {
  const prefix = ctx.config.STREAM_SUBJECT_PREFIX;
  const tenantPrefix = deadLetterSubject(prefix, tenant, '');
  const chosen: (StoredMsg | { seq: number; missing: true })[] = [];
  if ('seqs' in what) {
    for (const seq of [...new Set(what.seqs)]) {
      const m = await directGet(ctx, { seq });
      chosen.push(m?.subject.startsWith(tenantPrefix) ? m : { seq, missing: true });
    }
  } else {
    let after = 0;
    // Bounded: a huge dead-letter stream is redriven over several calls, not scanned in one.
    for (let pages = 0; pages < 50 && chosen.length < what.limit; pages++) {
      const page = await listDeadLetters(ctx, tenant, {
        afterSeq: after,
        limit: Math.min(100, what.limit - chosen.length),
        consumer: what.filter.consumer,
        types: what.filter.types,
      });
      for (const r of page.dead_letters) {
        const m = await directGet(ctx, { seq: r.seq });
        if (m) chosen.push(m);
      }
      if (page.next_after_seq === undefined) break;
      after = page.next_after_seq;
    }
  }

  const consumerExists = new Map<string, boolean>();
  const results: RedriveResult[] = [];
  for (const m of chosen) {
    if ('missing' in m) {
      results.push({ seq: m.seq, status: 'not_found' });
      continue;
    }
    const consumer = m.header.get(DEAD_LETTER_HEADERS.consumer);
    try {
      // A webhook's dead letters (`webhook:<name>`) go back to the webhook's consumer.
      const webhook = webhookOfDeadLetterName(consumer);
      if (!consumerExists.has(consumer)) {
        consumerExists.set(
          consumer,
          webhook === undefined
            ? (await getDurableConsumer(ctx, tenant, consumer)) !== undefined
            : await webhookConsumerExists(ctx, tenant, webhook),
        );
      }
      if (!consumerExists.get(consumer)) {
        throw new GatewayError(
          'GW_NOT_FOUND',
          webhook === undefined
            ? `The consumer "${consumer}" no longer exists; create it again, then redrive`
            : `The webhook "${webhook}" no longer exists; create it again, then redrive`,
        );
      }
      if (opts.dryRun) {
        results.push({ seq: m.seq, status: 'would_redrive', consumer });
        continue;
      }
      const h = headers();
      h.set('Gw-Redriven-From', String(m.seq));
      const ack = await ctx.js.publish(redriveSubject(prefix, tenant, consumer), m.data, {
        // Main-stream dedupe keys are `<tenant>:<event id>` (one colon); this one cannot collide.
        msgID: `redrive:${tenant}:${m.seq}`,
        headers: h,
        timeout: ctx.config.PUBLISH_TIMEOUT_MS,
      });
      if (ack.duplicate) {
        // A concurrent redrive of the same dead letter won: it is back with its consumer once.
        await ctx.jsm.streams.deleteMessage(ctx.config.DEAD_LETTER_STREAM, m.seq, false).catch(() => false);
        results.push({ seq: m.seq, status: 'not_found' });
        continue;
      }
      await ctx.jsm.streams.deleteMessage(ctx.config.DEAD_LETTER_STREAM, m.seq, false);
      ctx.log.info({ dlq_seq: m.seq, consumer, seq: ack.seq }, 'dead letter redriven');
      results.push({ seq: m.seq, status: 'redriven', consumer, redriven_seq: ack.seq });
    } catch (err) {
      const e = translate(err, ctx.config);
      results.push({ seq: m.seq, status: 'failed', error: { code: e.code, message: e.message } });
    }
  }
  return results;
}
