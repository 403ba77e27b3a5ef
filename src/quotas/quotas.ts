// Per-tenant quotas (docs/operations.md, "Quotas and rate limits"): publish and read rates as token
// buckets, concurrent WebSocket connections and subscriptions as counts, durable consumers as a
// count JetStream keeps. Over a limit: 429 GW_RATE_LIMITED with Retry-After and the RateLimit /
// RateLimit-Policy fields of draft-ietf-httpapi-ratelimit-headers (a problem document over HTTP,
// an error frame over WebSocket). `0` is unlimited, and a tenant without limits costs one map
// lookup per request.
//
// Across instances (each enforces its share, no round trip per request): every instance announces
// through the bus's presence (src/bus/presence.ts), every QUOTA_SYNC_INTERVAL and at once when a
// count changes, its tenants' open connections and subscriptions and how many events / reads each
// tenant asked it for in the last interval (its demand). An instance admits
// - a connection or subscription while its own count plus the others' last announced counts stay
//   under the limit;
// - events and reads from a local token bucket whose rate and size are the tenant's limit times
//   this instance's share of the tenant's demand: own / (own + others'). A tenant served by one
//   instance gets the whole limit there; spread evenly over N, a 1/N share each.
// The tolerance this buys is documented (and measured by test/quotas-cluster.test.ts).
import { GatewayError } from '../errors.ts';
import { defaultLimits, type LimitName, type LimitOverrides, type Limits, mergeLimits, type QuotaConfig, unlimited } from './limits.ts';
import { TokenBucket } from './token-bucket.ts';

export type { LimitName, LimitOverrides, Limits, QuotaConfig } from './limits.ts';

export interface QuotaOptions {
  /** Per-tenant overrides of the configured limits (the tenant settings store). */
  overrides?: LimitOverrides | undefined;
  /** Called on every refusal (the metrics count them as gateway_rate_limited_total). */
  onRateLimited?: ((tenant: string, limit: LimitName) => void) | undefined;
}

/** A connection or subscription counted against its tenant until released (idempotent). */
export interface Lease {
  release(): void;
}

/** Response header fields of a rate-limited operation (empty when the tenant has no such limit). */
export type RateLimitHeaders = Record<string, string>;

/** What one instance announces about its tenants: [ws connections, subscriptions, publish demand, read demand]. */
export interface QuotaState {
  v: 1;
  t: Record<string, [number, number, number, number]>;
}

const WS = 0;
const SUBS = 1;
const PUBLISH_DEMAND = 2;
const READ_DEMAND = 3;

interface RateState {
  bucket: TokenBucket;
  /** Tokens asked for (admitted or not) in the current interval and in the last whole one. */
  cur: number;
  prev: number;
}

interface TenantUsage {
  ws: number;
  subs: number;
  publish: RateState | undefined;
  reads: RateState | undefined;
}

/** A structured-field string (RFC 8941 sf-string). Limit names need no escaping. */
const sfString = (s: string) => `"${s}"`;

export class Quotas {
  readonly defaults: Limits;
  #overrides: LimitOverrides | undefined;
  #onRateLimited: QuotaOptions['onRateLimited'];
  readonly #intervalMs: number;
  readonly #usage = new Map<string, TenantUsage>();
  /** The other instances' announcements, summed per tenant. */
  #peers = new Map<string, [number, number, number, number]>();
  #instances = 1;
  #announce: (() => void) | undefined;
  readonly #roller: NodeJS.Timeout;
  /** True when neither defaults nor overrides can limit anything: every check returns at once. */
  #off: boolean;

  constructor(config: QuotaConfig, opts: QuotaOptions = {}) {
    this.defaults = defaultLimits(config);
    this.#overrides = opts.overrides;
    this.#onRateLimited = opts.onRateLimited;
    this.#intervalMs = config.QUOTA_SYNC_INTERVAL;
    this.#off = unlimited(this.defaults) && !opts.overrides;
    this.#roller = setInterval(() => this.#roll(), this.#intervalMs);
    this.#roller.unref();
  }

  /**
   * Sets (or replaces) the per-tenant override provider, for a tenant store that is set up after
   * this plugin (call it before the app is ready, so the instance joins the presence).
   */
  setOverrides(overrides: LimitOverrides | undefined): void {
    this.#overrides = overrides;
    this.#off = unlimited(this.defaults) && !overrides;
  }

  /** Sets (or replaces) the refusal hook (the metrics' gateway_rate_limited_total). */
  setOnRateLimited(hook: QuotaOptions['onRateLimited']): void {
    this.#onRateLimited = hook;
  }

  /** True when some tenant may have a limit (configured defaults, or an override provider). */
  get active(): boolean {
    return !this.#off;
  }

  /** The tenant's effective limits: the configured defaults merged with its override, if any. */
  limitsOf(tenant: string): Limits {
    return this.#overrides ? mergeLimits(this.defaults, this.#overrides(tenant)) : this.defaults;
  }

  /** Instances sharing the limits, this one included (1 until the presence is joined). */
  get instances(): number {
    return this.#instances;
  }

  // ---- rates

  /** Admits `n` events of the tenant (a batch counts its entries) or throws GW_RATE_LIMITED. */
  takePublish(tenant: string, n: number): RateLimitHeaders | undefined {
    if (this.#off) return undefined;
    const l = this.limitsOf(tenant);
    if (l.publish_per_second === 0) return undefined;
    return this.#take('publish', tenant, n, l.publish_per_second, l.publish_burst || l.publish_per_second);
  }

  /** Admits one history or correlation read of the tenant or throws GW_RATE_LIMITED. */
  takeRead(tenant: string): RateLimitHeaders | undefined {
    if (this.#off) return undefined;
    const l = this.limitsOf(tenant);
    if (l.reads_per_second === 0) return undefined;
    return this.#take('reads', tenant, 1, l.reads_per_second, l.reads_per_second);
  }

  #take(kind: 'publish' | 'reads', tenant: string, n: number, rate: number, burst: number): RateLimitHeaders {
    const now = Date.now();
    const usage = this.#tenant(tenant);
    let state = usage[kind];
    if (!state) {
      state = { bucket: new TokenBucket(rate, burst, now), cur: 0, prev: 0 };
      usage[kind] = state;
    }
    state.cur += n;
    const share = this.#share(tenant, kind, Math.max(state.prev, state.cur));
    state.bucket.reshape(rate * share, burst * share, now);
    const admitted = state.bucket.take(n, now);
    const remaining = Math.max(0, Math.floor(state.bucket.tokens));
    const headers: RateLimitHeaders = {
      'RateLimit-Policy': `${sfString(kind)};q=${rate};w=1`,
      RateLimit: `${sfString(kind)};r=${remaining};t=${Math.ceil(state.bucket.secondsUntilFull())}`,
    };
    if (admitted) return headers;
    const retryAfter = Math.max(1, Math.ceil(state.bucket.secondsUntil(n)));
    headers.RateLimit = `${sfString(kind)};r=0;t=${retryAfter}`;
    this.#refused(tenant, kind);
    throw new GatewayError(
      'GW_RATE_LIMITED',
      kind === 'publish'
        ? `The tenant may publish ${rate} events per second (burst ${burst}); retry in ${retryAfter} s`
        : `The tenant may make ${rate} history and correlation reads per second; retry in ${retryAfter} s`,
      { retryAfter, headers },
    );
  }

  /** This instance's share of the tenant's rate: its demand over everyone's (1 when alone). */
  #share(tenant: string, kind: 'publish' | 'reads', own: number): number {
    const others = this.#peers.get(tenant)?.[kind === 'publish' ? PUBLISH_DEMAND : READ_DEMAND] ?? 0;
    return others > 0 ? own / (own + others) : 1;
  }

  // ---- concurrency

  /** Counts one more WebSocket connection of the tenant, or throws GW_RATE_LIMITED (the upgrade is refused with 429). */
  openConnection(tenant: string): Lease {
    return this.#lease(tenant, 'ws_connections');
  }

  /** Counts one more WebSocket subscription of the tenant, or throws GW_RATE_LIMITED (an error frame). */
  openSubscription(tenant: string): Lease {
    return this.#lease(tenant, 'subscriptions');
  }

  #lease(tenant: string, kind: 'ws_connections' | 'subscriptions'): Lease {
    const limit = this.#off ? 0 : this.limitsOf(tenant)[kind];
    const usage = this.#tenant(tenant);
    const field = kind === 'ws_connections' ? 'ws' : 'subs';
    if (limit > 0) {
      const others = this.#peers.get(tenant)?.[kind === 'ws_connections' ? WS : SUBS] ?? 0;
      const held = usage[field] + others;
      if (held >= limit) {
        const retryAfter = Math.max(1, Math.ceil(this.#intervalMs / 1000));
        this.#refused(tenant, kind);
        throw new GatewayError(
          'GW_RATE_LIMITED',
          kind === 'ws_connections'
            ? `The tenant may hold ${limit} WebSocket connections at once; it holds ${held}`
            : `The tenant may hold ${limit} WebSocket subscriptions at once; it holds ${held}`,
          {
            retryAfter,
            headers: {
              'RateLimit-Policy': `${sfString(kind)};q=${limit};qu="concurrent-requests"`,
              RateLimit: `${sfString(kind)};r=0;t=${retryAfter}`,
            },
          },
        );
      }
    }
    usage[field]++;
    if (limit > 0) this.#announce?.();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        // (A tenant holding leases is never forgotten by #roll, so `usage` is still the map's.)
        usage[field]--;
        if (limit > 0) this.#announce?.();
      },
    };
  }

  /** True when creating a durable consumer of the tenant needs its current count (it has that limit). */
  limitsDurableConsumers(tenant: string): boolean {
    return !this.#off && this.limitsOf(tenant).durable_consumers > 0;
  }

  /** Throws GW_RATE_LIMITED when the tenant, holding `count` durable consumers, may not create another. */
  admitDurableConsumer(tenant: string, count: number): void {
    const limit = this.#off ? 0 : this.limitsOf(tenant).durable_consumers;
    if (limit === 0 || count < limit) return;
    this.#refused(tenant, 'durable_consumers');
    throw new GatewayError(
      'GW_RATE_LIMITED',
      `The tenant may have ${limit} durable consumers and has ${count}; delete one (DELETE /v1/consumers/{name}) before creating another`,
      {
        retryAfter: Math.max(1, Math.ceil(this.#intervalMs / 1000)),
        headers: {
          'RateLimit-Policy': `${sfString('durable_consumers')};q=${limit};qu="concurrent-requests"`,
          RateLimit: `${sfString('durable_consumers')};r=0;t=${Math.max(1, Math.ceil(this.#intervalMs / 1000))}`,
        },
      },
    );
  }

  #refused(tenant: string, limit: LimitName): void {
    try {
      this.#onRateLimited?.(tenant, limit);
    } catch {
      // A metrics callback must not turn a 429 into a 500.
    }
  }

  #tenant(tenant: string): TenantUsage {
    let u = this.#usage.get(tenant);
    if (!u) {
      u = { ws: 0, subs: 0, publish: undefined, reads: undefined };
      this.#usage.set(tenant, u);
    }
    return u;
  }

  // ---- across instances

  /** Joins the other instances: `announce` puts this instance's state() now (coalesced). */
  attach(announce: () => void): void {
    this.#announce = announce;
  }

  /** This instance's announcement: tenants with a limited count or a rate demand in the last interval. */
  state(): QuotaState {
    const t: QuotaState['t'] = {};
    for (const [tenant, u] of this.#usage) {
      const pub = u.publish?.prev ?? 0;
      const reads = u.reads?.prev ?? 0;
      let ws = 0;
      let subs = 0;
      if (u.ws > 0 || u.subs > 0) {
        const l = this.limitsOf(tenant);
        if (l.ws_connections > 0) ws = u.ws;
        if (l.subscriptions > 0) subs = u.subs;
      }
      if (ws + subs + pub + reads > 0) t[tenant] = [ws, subs, pub, reads];
    }
    return { v: 1, t };
  }

  /** The other live instances' last announcements (from the presence). */
  setPeers(peers: ReadonlyMap<string, unknown>): void {
    const sums = new Map<string, [number, number, number, number]>();
    for (const state of peers.values()) {
      const t = (state as Partial<QuotaState> | null)?.t;
      if (!t || typeof t !== 'object') continue;
      for (const [tenant, v] of Object.entries(t)) {
        if (!Array.isArray(v)) continue;
        const s = sums.get(tenant) ?? [0, 0, 0, 0];
        for (let i = 0; i < 4; i++) s[i] = (s[i] as number) + (Number(v[i]) || 0);
        sums.set(tenant, s);
      }
    }
    this.#peers = sums;
    this.#instances = peers.size + 1;
  }

  /** Each interval: the current demand becomes the last interval's; idle tenants are forgotten. */
  #roll(): void {
    const now = Date.now();
    for (const [tenant, u] of this.#usage) {
      for (const kind of ['publish', 'reads'] as const) {
        const s = u[kind];
        if (!s) continue;
        s.prev = s.cur;
        s.cur = 0;
        // Idle for a whole interval and refilled: nothing to remember.
        if (s.prev === 0 && s.bucket.fullAt(now)) u[kind] = undefined;
      }
      if (u.ws === 0 && u.subs === 0 && !u.publish && !u.reads) this.#usage.delete(tenant);
    }
  }

  close(): void {
    clearInterval(this.#roller);
    this.#announce = undefined;
  }
}
