// Instance presence: every gateway instance puts a small JSON state of its own under its instance
// id in a NATS KV bucket (`<STREAM_NAME>_PRESENCE`), every interval and whenever it asks to, and
// watches the bucket for the others'. An instance silent for MISSED_INTERVALS intervals no longer
// counts (a killed one leaves its last entry behind, which the bucket's TTL removes later); one that
// closes deletes its entry at once. The quotas use it to learn how many instances share a tenant's
// limits and what the others hold (src/quotas/). File storage, so the bucket outlives a restart of
// the NATS servers (the watch then resumes by itself); STREAM_REPLICAS replicas so it answers while
// a quorum is up.
import { type KV, Kvm, KvWatchInclude } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { within } from '../deadline.ts';
import type { BusContext } from './context.ts';

/** How long closing waits for the last put and the delete of this instance's entry. */
const CLOSE_WAIT_MS = 1000;

/** Intervals an instance may stay silent before the others stop counting it. */
export const MISSED_INTERVALS = 3;

export interface PresenceOptions {
  /** The bucket name (see presenceBucket). */
  bucket: string;
  /** This instance's id (a KV key: letters, digits, `-`, `_`). */
  instance: string;
  intervalMs: number;
  /** This instance's state, put every interval and on `announce()`; JSON. */
  state: () => unknown;
  /** Called with every other live instance's last state after any of them changed. */
  onPeers: (peers: ReadonlyMap<string, unknown>) => void;
}

export function presenceBucket(config: { STREAM_NAME: string }): string {
  return `${config.STREAM_NAME}_PRESENCE`;
}

export class Presence {
  readonly #ctx: BusContext;
  readonly #opts: PresenceOptions;
  readonly #kv: KV;
  /** Other instances: their last state and when it was put (local clock). */
  readonly #peers = new Map<string, { state: unknown; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #announcing: Promise<void> | undefined;
  #again = false;
  #stopWatch: (() => void) | undefined;
  #closedResolve!: () => void;
  /** Resolves once closed. */
  readonly closed = new Promise<void>((resolve) => {
    this.#closedResolve = resolve;
  });

  private constructor(ctx: BusContext, opts: PresenceOptions, kv: KV) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#kv = kv;
  }

  static async open(ctx: BusContext, opts: PresenceOptions): Promise<Presence> {
    const kvm = new Kvm(ctx.js);
    const ttl = Math.max(60_000, opts.intervalMs * 10);
    let kv: KV;
    try {
      kv = await kvm.create(opts.bucket, { history: 1, ttl, storage: StorageType.File, replicas: ctx.config.STREAM_REPLICAS });
    } catch (err) {
      // Made by another instance with other settings (replicas, TTL): use it as it is.
      ctx.log.debug({ err, bucket: opts.bucket }, 'presence bucket exists with other settings; opening it');
      kv = await kvm.open(opts.bucket);
    }
    const presence = new Presence(ctx, opts, kv);
    await presence.#watch();
    presence.announce();
    presence.#timer = setInterval(() => {
      presence.#prune();
      presence.announce();
    }, opts.intervalMs);
    presence.#timer.unref();
    return presence;
  }

  /** The live instances, this one included. */
  get instances(): number {
    return this.#peers.size + 1;
  }

  /** Puts this instance's state now (coalesced: one put in flight, one more queued at most). */
  announce(): void {
    if (this.#closed) return;
    if (this.#announcing) {
      this.#again = true;
      return;
    }
    this.#announcing = this.#kv
      .put(this.#opts.instance, JSON.stringify(this.#opts.state()))
      .then(
        () => undefined,
        (err: unknown) => this.#ctx.log.debug({ err }, 'presence announcement failed; retried next interval'),
      )
      .finally(() => {
        this.#announcing = undefined;
        if (this.#again) {
          this.#again = false;
          this.announce();
        }
      });
  }

  async #watch(): Promise<void> {
    const iter = await this.#kv.watch({ include: KvWatchInclude.LastValue });
    // Closed while the watch was being opened: it must not outlive the presence.
    if (this.#closed) {
      iter.stop();
      return;
    }
    this.#stopWatch = () => iter.stop();
    const maxAge = this.#opts.intervalMs * MISSED_INTERVALS;
    void (async () => {
      for await (const e of iter) {
        if (e.key === this.#opts.instance) continue;
        if (e.operation !== 'PUT') {
          if (this.#peers.delete(e.key)) this.#changed();
          continue;
        }
        // An update is fresh now; an entry found when the watch starts is as old as its put (by
        // the server's clock): one left by an instance that died is skipped.
        const at = e.isUpdate ? Date.now() : Math.min(Date.now(), e.created.getTime());
        if (Date.now() - at > maxAge) continue;
        let state: unknown;
        try {
          state = e.json();
        } catch {
          continue;
        }
        this.#peers.set(e.key, { state, at });
        this.#changed();
      }
    })().catch((err: unknown) => this.#ctx.log.warn({ err }, 'presence watch ended'));
  }

  #prune(): void {
    const maxAge = this.#opts.intervalMs * MISSED_INTERVALS;
    let pruned = false;
    for (const [id, p] of this.#peers) {
      if (Date.now() - p.at > maxAge) {
        this.#peers.delete(id);
        pruned = true;
      }
    }
    if (pruned) this.#changed();
  }

  #changed(): void {
    this.#opts.onPeers(new Map([...this.#peers].map(([id, p]) => [id, p.state])));
  }

  /** Stops announcing and watching, and removes this instance's entry (others stop counting it at once). */
  async close(): Promise<void> {
    if (this.#closed) return this.closed;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stopWatch?.();
    // Bounded: with NATS away neither the last put nor the delete gets an answer.
    await within(
      (async () => {
        await this.#announcing;
        await this.#kv.delete(this.#opts.instance).catch(() => undefined);
      })(),
      CLOSE_WAIT_MS,
    );
    this.#closedResolve();
  }
}
