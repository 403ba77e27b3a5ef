// HTTP load against the gateway with autocannon (in this process), and the shape every load
// generator of the bench reports: completed operations, rate, latency percentiles.
import autocannon from 'autocannon';

export interface LoadResult {
  /** Operations answered successfully (2xx, or acknowledged publishes). */
  ok: number;
  errors: number;
  seconds: number;
  perSecond: number;
  latencyMs: { p50: number; p99: number; p99_9: number; max: number; count: number };
}

export interface HttpLoadOptions {
  url: string;
  path: string;
  key: string;
  /** A body with `[<id>]` marks; autocannon puts a unique id there per request. Omitted: a GET. */
  body?: string;
  /** Requests in flight: one per connection, no pipelining. */
  connections: number;
  durationMs: number;
  /** Upper bound on requests, whatever the duration. */
  maxRequests: number;
  /** Requests per second over all connections (autocannon's `overallRate`); unset: as fast as answered. */
  overallRate?: number;
}

export async function httpLoad(opts: HttpLoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url + opts.path,
    ...(opts.body === undefined
      ? { method: 'GET' as const, headers: { authorization: `Bearer ${opts.key}` } }
      : {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.key}` },
          body: opts.body,
          idReplacement: true,
        }),
    connections: opts.connections,
    pipelining: 1,
    duration: opts.durationMs / 1000,
    maxOverallRequests: opts.maxRequests,
    ...(opts.overallRate ? { overallRate: Math.round(opts.overallRate) } : {}),
    timeout: 10,
  });
  const ok = result['2xx'];
  const seconds = result.duration;
  return {
    ok,
    errors: result.non2xx + result.errors + result.timeouts,
    seconds,
    perSecond: ok / seconds,
    latencyMs: {
      p50: result.latency.p50,
      p99: result.latency.p99,
      p99_9: result.latency.p99_9,
      max: result.latency.max,
      count: ok,
    },
  };
}
