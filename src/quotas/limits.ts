// A tenant's limits: the configured defaults (QUOTA_* settings), with a per-tenant override on
// top when an override provider knows the tenant (the tenant settings store, wired by the app).
// `0` means unlimited throughout. The field names are the tenant settings' `limits` object's.
import type { Config } from '../config.ts';

export interface Limits {
  /** Events per second (a batch counts its entries). */
  publish_per_second: number;
  /** Events at once above the steady rate (the token bucket's size); 0: the same as the rate. */
  publish_burst: number;
  /** Concurrent WebSocket connections. */
  ws_connections: number;
  /** Concurrent WebSocket subscriptions, across the tenant's connections. */
  subscriptions: number;
  /** Durable consumers (HTTP pull consumers and WebSocket groups). */
  durable_consumers: number;
  /** History and correlation reads per second. */
  reads_per_second: number;
}

/** What a limit is called in the RateLimit headers, in `onRateLimited` and in the docs. */
export type LimitName = 'publish' | 'reads' | 'ws_connections' | 'subscriptions' | 'durable_consumers';

/** A tenant's overrides, or undefined when it has none: called on every limited request, so keep it an in-memory lookup. */
export type LimitOverrides = (tenant: string) => Partial<Limits> | undefined;

export type QuotaConfig = Pick<
  Config,
  | 'QUOTA_PUBLISH_PER_SECOND'
  | 'QUOTA_PUBLISH_BURST'
  | 'QUOTA_WS_CONNECTIONS'
  | 'QUOTA_SUBSCRIPTIONS'
  | 'QUOTA_DURABLE_CONSUMERS'
  | 'QUOTA_READS_PER_SECOND'
  | 'QUOTA_SYNC_INTERVAL'
>;

export function defaultLimits(config: QuotaConfig): Limits {
  return {
    publish_per_second: config.QUOTA_PUBLISH_PER_SECOND,
    publish_burst: config.QUOTA_PUBLISH_BURST,
    ws_connections: config.QUOTA_WS_CONNECTIONS,
    subscriptions: config.QUOTA_SUBSCRIPTIONS,
    durable_consumers: config.QUOTA_DURABLE_CONSUMERS,
    reads_per_second: config.QUOTA_READS_PER_SECOND,
  };
}

const KEYS = [
  'publish_per_second',
  'publish_burst',
  'ws_connections',
  'subscriptions',
  'durable_consumers',
  'reads_per_second',
] as const satisfies readonly (keyof Limits)[];

/**
 * The defaults with the override's numbers on top (a missing or non-numeric field keeps the
 * default), except that an override of the publish rate without a burst of its own has a burst of
 * its rate: a tenant given 10 events/s does not keep a default burst sized for 1,000.
 */
export function mergeLimits(defaults: Limits, override: Partial<Limits> | undefined): Limits {
  if (!override) return defaults;
  const out = { ...defaults };
  for (const k of KEYS) {
    const v = override[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  if (out.publish_per_second !== defaults.publish_per_second && typeof override.publish_burst !== 'number') out.publish_burst = 0;
  return out;
}

/** True when no limit is set: the quotas then cost nothing on a request. */
export function unlimited(l: Limits): boolean {
  return (
    l.publish_per_second === 0 && l.ws_connections === 0 && l.subscriptions === 0 && l.durable_consumers === 0 && l.reads_per_second === 0
  );
}
