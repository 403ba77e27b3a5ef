// Idempotency-Key records, cluster-wide, in one NATS KV bucket (`<STREAM_NAME>_idempotency`, max
// age IDEMPOTENCY_RETENTION, STREAM_REPLICAS replicas, STREAM_STORAGE). A key is claimed by an
// atomic create of an in-flight marker (only one instance's create succeeds); its owner later
// replaces the marker with the answer (a compare-and-set update on the marker's revision) or deletes
// it (an answer that must not be replayed). A marker whose owner died is taken over once it is
// older than its lease (IDEMPOTENCY_IN_FLIGHT_TIMEOUT), again by compare-and-set, so a crash never
// blocks a key for longer than that. What a key means to HTTP lives in src/plugins/idempotency.ts.
import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import type { BusContext } from './context.ts';
import { isApiError, JetStreamApiCodes, translate } from './errors.ts';

/** The answer stored for a key: replayed to a repeat of the same request. */
export interface IdempotentAnswer {
  /** SHA-256 of what identifies the request (method, path, body); a repeat must match it. */
  fingerprint: string;
  status: number;
  contentType?: string | undefined;
  body: string;
}

type KeyRecord = { state: 'in_flight'; lease_until: number } | ({ state: 'done' } & IdempotentAnswer);

export type IdempotencyClaim =
  /** This request owns the key: answer it, then `complete` or `release` with this revision. */
  | { outcome: 'claimed'; revision: number }
  /** Another request with the key is being processed. */
  | { outcome: 'in_flight' }
  /** The key was answered: replay (same fingerprint) or refuse. */
  | { outcome: 'answered'; answer: IdempotentAnswer };

/** Bounded retries of the claim's compare-and-set races (another instance claimed, answered or released meanwhile). */
const CLAIM_ATTEMPTS = 5;

export class IdempotencyStore {
  readonly #ctx: BusContext;
  #kv: Promise<KV> | undefined;

  constructor(ctx: BusContext) {
    this.#ctx = ctx;
  }

  /** The bucket, created on first use (or bound when it exists with other settings: the running bucket is the truth). */
  #bucket(): Promise<KV> {
    this.#kv ??= (async () => {
      const { js, config, log } = this.#ctx;
      const kvm = new Kvm(js);
      const name = `${config.STREAM_NAME}_idempotency`;
      try {
        return await kvm.create(name, {
          ttl: config.IDEMPOTENCY_RETENTION,
          history: 1,
          replicas: config.STREAM_REPLICAS,
          storage: config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
        });
      } catch (err) {
        if (!isApiError(err, JetStreamApiCodes.StreamNameInUse)) throw err;
        log.warn({ bucket: name }, 'the idempotency bucket exists with other settings (IDEMPOTENCY_RETENTION?); using it as it is');
        return kvm.open(name);
      }
    })().catch((err: unknown) => {
      this.#kv = undefined;
      throw err;
    });
    return this.#kv;
  }

  /** The KV key of a client's key: the tenant, then a digest (any characters may be in the client's key). */
  static keyOf(tenant: string, key: string): string {
    return `${tenant}.${createHash('sha256').update(key).digest('hex')}`;
  }

  /** Claims `key` for one request for `leaseMs`, or says who has it. */
  async claim(tenant: string, key: string, leaseMs: number): Promise<IdempotencyClaim> {
    const k = IdempotencyStore.keyOf(tenant, key);
    const marker = () => JSON.stringify({ state: 'in_flight', lease_until: Date.now() + leaseMs } satisfies KeyRecord);
    try {
      const kv = await this.#bucket();
      for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
        try {
          return { outcome: 'claimed', revision: await kv.create(k, marker()) };
        } catch (err) {
          if (!isApiError(err, JetStreamApiCodes.StreamWrongLastSequence)) throw err;
        }
        const entry = await kv.get(k);
        if (entry?.operation !== 'PUT') continue; // released meanwhile: create again
        const record = entry.json<KeyRecord>();
        if (record.state === 'done') {
          const { state: _state, ...answer } = record;
          return { outcome: 'answered', answer };
        }
        if (record.lease_until > Date.now()) return { outcome: 'in_flight' };
        // The owner died (or overran its lease): take the key over, unless someone else just did.
        try {
          return { outcome: 'claimed', revision: await kv.update(k, marker(), entry.revision) };
        } catch (err) {
          if (!isApiError(err, JetStreamApiCodes.StreamWrongLastSequence)) throw err;
        }
      }
      return { outcome: 'in_flight' };
    } catch (err) {
      throw translate(err, this.#ctx.config);
    }
  }

  /** Stores the answer of a claimed key (false when the claim was lost: its lease ran out and another request took it). */
  async complete(tenant: string, key: string, revision: number, answer: IdempotentAnswer): Promise<boolean> {
    const kv = await this.#bucket();
    try {
      await kv.update(IdempotencyStore.keyOf(tenant, key), JSON.stringify({ state: 'done', ...answer } satisfies KeyRecord), revision);
      return true;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamWrongLastSequence)) return false;
      throw err;
    }
  }

  /** Frees a claimed key without an answer, so the next request with it is processed. */
  async release(tenant: string, key: string, revision: number): Promise<void> {
    const kv = await this.#bucket();
    try {
      await kv.delete(IdempotencyStore.keyOf(tenant, key), { previousSeq: revision });
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamWrongLastSequence)) throw err;
    }
  }
}
