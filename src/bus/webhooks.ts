// Webhooks on the bus: where their definitions live, the durable consumer each one delivers from,
// and the record of recent delivery attempts. Nothing here knows HTTP (src/delivery/sinks/webhook.ts)
// or what a definition holds (src/webhooks/): definitions are JSON values kept per (tenant, name).
//
// - Definitions: a KV bucket `<STREAM_NAME>_webhooks` (file storage, STREAM_REPLICAS replicas),
//   key `<tenant>.<name>` (both are subject tokens, so a tenant's keys are `<tenant>.*`), written
//   with compare-and-set on the revision so concurrent changes on two instances cannot lose one.
//   Every instance reads the bucket (last value per key, then each change) and runs a delivery for
//   each active webhook.
// - Consumer: a durable JetStream consumer `gwh<length of tenant>_<tenant>_<name>` (its own
//   namespace: a webhook and an HTTP consumer of the same name are different things), explicit
//   acks, `max_ack_pending` = the webhook's max_in_flight (a cluster-wide limit: 1 keeps the
//   stream order, a retry waiting for its backoff holding back those behind it), `max_deliver` =
//   max_attempts + DEAD_LETTER_ATTEMPTS like every durable consumer, no inactivity threshold (a
//   paused webhook keeps its position). Its filter subjects are the types' plus the redrive
//   subject of `webhook:<name>`, the name its dead letters are kept and redriven under.
// - Attempts: a KV bucket `<STREAM_NAME>_webhook_attempts` keeping the last 32 batches per webhook
//   (a batch: the attempts of one instance over about a second), for a day.
import { AckPolicy, type ConsumerInfo, DeliverPolicy, StorageType, type StoredMsg } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { GatewayError } from '../errors.ts';
import type { BusContext } from './context.ts';
import { PullSource } from './consumers.ts';
import { DEAD_LETTER_ATTEMPTS, type StartFrom, startPosition } from './durable-consumers.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';
import { redriveSubject, typePatternSubjects } from './subjects.ts';

/** A webhook's dead letters are kept (and redriven) under this name. */
export function webhookDeadLetterName(name: string): string {
  return `webhook:${name}`;
}

/** The webhook named by a dead letter's consumer, or undefined when it names a consumer. */
export function webhookOfDeadLetterName(consumer: string): string | undefined {
  return consumer.startsWith('webhook:') ? consumer.slice('webhook:'.length) : undefined;
}

/** The JetStream name of a webhook's consumer: injective in (tenant, name), apart from consumers' `gwt…`. */
export function webhookDurableName(tenant: string, name: string): string {
  return `gwh${tenant.length}_${tenant}_${name}`;
}

/** A definition as stored, with the revision to pass back for a compare-and-set update. */
export interface WebhookRecord {
  tenant: string;
  name: string;
  value: Record<string, unknown>;
  revision: number;
}

export interface WebhookConsumerSpec {
  types: string[];
  from: StartFrom;
  maxInFlight: number;
  maxAttempts: number;
  ackWaitMs: number;
}

export interface WebhookPosition {
  pending: number;
  unacked: number;
  lastDeliveredSeq: number;
}

const HISTORY_OF_ATTEMPTS = 32;
/** How often the definitions are read again from the start (what a lost update could have missed). */
const RESYNC_MS = 60_000;
const ATTEMPTS_MAX_AGE_MS = 86_400_000;

const key = (tenant: string, name: string) => `${tenant}.${name}`;

function conflict(err: unknown): boolean {
  return (
    isApiError(err, 10071) || // StreamWrongLastSequence
    isApiError(err, 10164) || // StreamWrongLastSequenceUnknown
    (err instanceof Error && /wrong last sequence/i.test(err.message))
  );
}

/** The definitions and attempts buckets of one bus, opened (created when missing) on first use. */
export class WebhookStore {
  readonly #ctx: BusContext;
  #definitions: Promise<KV> | undefined;
  #attempts: Promise<KV> | undefined;

  constructor(ctx: BusContext) {
    this.#ctx = ctx;
  }

  #bucket(which: 'definitions' | 'attempts'): Promise<KV> {
    const { config } = this.#ctx;
    const opts = {
      replicas: config.STREAM_REPLICAS,
      storage: config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
    };
    const open = (name: string, extra: Record<string, unknown>) => {
      const p = new Kvm(this.#ctx.js).create(name, { ...opts, ...extra });
      // A failed open (NATS away) is tried again by the next call.
      p.catch(() => {
        if (which === 'definitions' && this.#definitions === p) this.#definitions = undefined;
        if (which === 'attempts' && this.#attempts === p) this.#attempts = undefined;
      });
      return p;
    };
    if (which === 'definitions') {
      this.#definitions ??= open(`${config.STREAM_NAME}_webhooks`, { history: 1 });
      return this.#definitions;
    }
    this.#attempts ??= open(`${config.STREAM_NAME}_webhook_attempts`, { history: HISTORY_OF_ATTEMPTS, ttl: ATTEMPTS_MAX_AGE_MS });
    return this.#attempts;
  }

  async #run<T>(which: 'definitions' | 'attempts', fn: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#bucket(which));
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      // The bucket's stream lost with a server's storage: made again on the next call.
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) {
        if (which === 'definitions') this.#definitions = undefined;
        else this.#attempts = undefined;
      }
      throw translate(err, this.#ctx.config);
    }
  }

  get(tenant: string, name: string): Promise<WebhookRecord | undefined> {
    return this.#run('definitions', async (kv) => {
      const e = await kv.get(key(tenant, name));
      if (e?.operation !== 'PUT' || e.length === 0) return undefined;
      return { tenant, name, value: e.json<Record<string, unknown>>(), revision: e.revision };
    });
  }

  /** Stores a new definition; GW_CONFLICT when one exists (made meanwhile by another request). */
  create(tenant: string, name: string, value: Record<string, unknown>): Promise<number> {
    return this.#run('definitions', async (kv) => {
      try {
        return await kv.create(key(tenant, name), JSON.stringify(value));
      } catch (err) {
        if (conflict(err)) throw new GatewayError('GW_CONFLICT', `The webhook "${name}" was created concurrently; retry`);
        throw err;
      }
    });
  }

  /** Replaces the definition at `revision`; GW_CONFLICT when it changed since. */
  update(tenant: string, name: string, value: Record<string, unknown>, revision: number): Promise<number> {
    return this.#run('definitions', async (kv) => {
      try {
        return await kv.update(key(tenant, name), JSON.stringify(value), revision);
      } catch (err) {
        if (conflict(err)) throw new GatewayError('GW_CONFLICT', `The webhook "${name}" was changed concurrently; retry`);
        throw err;
      }
    });
  }

  delete(tenant: string, name: string): Promise<void> {
    return this.#run('definitions', async (kv) => {
      await kv.purge(key(tenant, name));
    });
  }

  /** The tenant's definitions, by name. */
  list(tenant: string): Promise<WebhookRecord[]> {
    return this.#run('definitions', async (kv) => {
      const names: string[] = [];
      for await (const k of await kv.keys(`${tenant}.*`)) names.push(k.slice(tenant.length + 1));
      const out: WebhookRecord[] = [];
      for (const name of names.sort()) {
        const r = await this.get(tenant, name);
        if (r) out.push(r);
      }
      return out;
    });
  }

  /**
   * Calls `onChange` with every definition, then with each change (undefined: deleted), until the
   * returned function is called. Read with an ordered pull consumer on the bucket's stream (last
   * value per key, then live), as the rest of the bus reads: nats.js's KV watcher is a push
   * consumer whose heartbeat monitor can outlive a connection closed while NATS was away. The read
   * starts again every RESYNC_MS, and after a failure, replaying every current definition.
   */
  watch(onChange: (tenant: string, name: string, record: WebhookRecord | undefined) => void): () => void {
    let stopped = false;
    let current: { stop(): void } | undefined;
    const bucket = `${this.#ctx.config.STREAM_NAME}_webhooks`;
    const prefix = `$KV.${bucket}.`;
    const loop = async () => {
      for (let failures = 0; !stopped; ) {
        try {
          await this.#bucket('definitions');
          const consumer = await this.#ctx.js.consumers.get(`KV_${bucket}`, {
            filter_subjects: [`${prefix}>`],
            deliver_policy: DeliverPolicy.LastPerSubject,
          });
          try {
            const messages = await consumer.consume({ max_messages: 256 });
            current = messages;
            if (stopped) messages.stop();
            const resync = setTimeout(() => messages.stop(), RESYNC_MS);
            resync.unref();
            try {
              for await (const m of messages) {
                failures = 0;
                const key = m.subject.slice(prefix.length);
                const dot = key.indexOf('.');
                if (dot < 0) continue;
                const tenant = key.slice(0, dot);
                const name = key.slice(dot + 1);
                const op = m.headers?.get('KV-Operation') ?? '';
                if (op === 'DEL' || op === 'PURGE' || m.data.length === 0) onChange(tenant, name, undefined);
                else {
                  try {
                    onChange(tenant, name, { tenant, name, value: m.json<Record<string, unknown>>(), revision: m.seq });
                  } catch (err) {
                    this.#ctx.log.warn({ err, key }, 'a webhook definition could not be applied');
                  }
                }
              }
            } finally {
              clearTimeout(resync);
            }
          } finally {
            void consumer.delete().catch(() => undefined);
          }
        } catch (err) {
          if (stopped) return;
          this.#definitions = undefined;
          failures++;
          // Retried; a single failure (a timeout on a busy server) is not worth a warning.
          this.#ctx.log[failures > 2 ? 'warn' : 'info']({ err, failures }, 'reading webhook definitions failed; retrying');
        }
        if (!stopped) await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(failures, 6))).unref());
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.stop();
    };
  }

  /** Records a batch of attempts (any JSON values) of one webhook. */
  appendAttempts(tenant: string, name: string, attempts: unknown[]): Promise<void> {
    return this.#run('attempts', async (kv) => {
      await kv.put(key(tenant, name), JSON.stringify(attempts));
    });
  }

  /**
   * Every recorded attempt of the webhook still kept, batch by batch, oldest batch first: direct
   * gets along the key's subject (at most HISTORY_OF_ATTEMPTS), no consumer.
   */
  readAttempts(tenant: string, name: string): Promise<unknown[]> {
    return this.#run('attempts', async () => {
      const bucket = `${this.#ctx.config.STREAM_NAME}_webhook_attempts`;
      const subject = `$KV.${bucket}.${key(tenant, name)}`;
      const out: unknown[] = [];
      let seq = 1;
      for (let reads = 0; reads <= HISTORY_OF_ATTEMPTS; reads++) {
        let m: StoredMsg | null;
        try {
          m = await this.#ctx.jsm.direct.getMessage(`KV_${bucket}`, { seq, next_by_subj: subject });
        } catch (err) {
          if (isApiError(err, JetStreamApiCodes.NoMessageFound)) break;
          throw err;
        }
        if (!m) break;
        seq = m.seq + 1;
        const op = m.header?.get('KV-Operation') ?? '';
        if (op === '' && m.data.length > 0) out.push(...m.json<unknown[]>());
      }
      return out;
    });
  }

  forgetAttempts(tenant: string, name: string): Promise<void> {
    return this.#run('attempts', async (kv) => {
      await kv.purge(key(tenant, name));
    });
  }
}

// ---- the consumer of each webhook

function consumerConfig(ctx: BusContext, tenant: string, name: string, spec: WebhookConsumerSpec) {
  const prefix = ctx.config.STREAM_SUBJECT_PREFIX;
  return {
    filter_subjects: [...typePatternSubjects(prefix, tenant, spec.types), redriveSubject(prefix, tenant, webhookDeadLetterName(name))],
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxAttempts + DEAD_LETTER_ATTEMPTS,
    max_ack_pending: spec.maxInFlight,
    metadata: { gw_tenant: tenant, gw_webhook: name, gw_max_deliver: String(spec.maxAttempts) },
  };
}

async function consumerInfo(ctx: BusContext, tenant: string, name: string): Promise<ConsumerInfo | undefined> {
  try {
    const info = await ctx.jsm.consumers.info(ctx.config.STREAM_NAME, webhookDurableName(tenant, name));
    const meta = info.config.metadata ?? {};
    return meta.gw_tenant === tenant && meta.gw_webhook === name ? info : undefined;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw translate(err, ctx.config);
  }
}

/** Creates the webhook's consumer (from `spec.from`), or updates its types and limits; true when created. */
export async function ensureWebhookConsumer(ctx: BusContext, tenant: string, name: string, spec: WebhookConsumerSpec): Promise<boolean> {
  const stream = ctx.config.STREAM_NAME;
  const durable = webhookDurableName(tenant, name);
  const wanted = consumerConfig(ctx, tenant, name, spec);
  for (let tries = 0; tries < 4; tries++) {
    const info = await consumerInfo(ctx, tenant, name);
    try {
      if (info) {
        await ctx.jsm.consumers.update(stream, durable, wanted);
        return false;
      }
      await ctx.jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ...startPosition(spec.from),
        ...wanted,
      });
      ctx.log.info({ consumer: durable, types: spec.types, from: spec.from }, 'webhook consumer created');
      return true;
    } catch (err) {
      if (
        isApiError(err, JetStreamApiCodes.ConsumerNotFound) ||
        isApiError(err, JetStreamApiCodes.ConsumerAlreadyExists) ||
        isApiError(err, JetStreamApiCodes.ConsumerNameExists)
      ) {
        continue; // raced with another instance: look again
      }
      throw translate(err, ctx.config);
    }
  }
  throw new GatewayError('GW_CONFLICT', `The webhook "${name}" is being changed concurrently; retry`);
}

export async function deleteWebhookConsumer(ctx: BusContext, tenant: string, name: string): Promise<boolean> {
  try {
    return await ctx.jsm.consumers.delete(ctx.config.STREAM_NAME, webhookDurableName(tenant, name));
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return false;
    throw translate(err, ctx.config);
  }
}

export async function webhookPosition(ctx: BusContext, tenant: string, name: string): Promise<WebhookPosition | undefined> {
  const info = await consumerInfo(ctx, tenant, name);
  if (!info) return undefined;
  return { pending: info.num_pending, unacked: info.num_ack_pending, lastDeliveredSeq: info.delivered.stream_seq };
}

/** True when the webhook's consumer exists (a dead letter can be redriven to it). */
export async function webhookConsumerExists(ctx: BusContext, tenant: string, name: string): Promise<boolean> {
  return (await consumerInfo(ctx, tenant, name)) !== undefined;
}

/** Pulls from the webhook's consumer; deliveries beyond max_attempts are dead-lettered as `webhook:<name>`. */
export async function openWebhookSource(ctx: BusContext, tenant: string, name: string): Promise<PullSource> {
  const info = await consumerInfo(ctx, tenant, name);
  if (!info) throw new GatewayError('GW_NOT_FOUND', `The webhook "${name}" has no consumer`);
  try {
    const consumer = await ctx.js.consumers.get(ctx.config.STREAM_NAME, info.name);
    const maxDeliver = Number(
      info.config.metadata?.gw_max_deliver ?? (info.config.max_deliver ?? 1 + DEAD_LETTER_ATTEMPTS) - DEAD_LETTER_ATTEMPTS,
    );
    const target = { tenant, name: webhookDeadLetterName(name), durable: info.name, maxDeliver, created: info.created };
    return new PullSource(ctx, consumer, target, Math.round((info.config.ack_wait ?? 30e9) / 1e6), false);
  } catch (err) {
    throw translate(err, ctx.config);
  }
}
