// Scenarios 1 and 2: publishing throughput of the gateway (`POST /v1/events`, and
// `POST /v1/events/batch` with 100 events a request) against publishing the same envelopes
// straight to JetStream with the same number of events in flight. Scenario 1 also measures two
// reference servers (bench/bare-bridge.ts): the bare bridge (node:http straight to the gateway's
// publish path, nothing else), what any Node HTTP front can reach on this machine, and the null
// server (answers 202, publishes nothing), what the load generator alone can drive. Sides
// alternate, so load from elsewhere on the machine hits all alike; medians are reported.
import type { BenchContext, Usage } from '../context.ts';
import type { GatewayProcess } from '../processes.ts';
import { directPublish } from '../direct-publisher.ts';
import { httpLoad, type LoadResult } from '../http-load.ts';
import { batchBody, ENVELOPE_BYTES, singleBody } from '../payload.ts';
import { median, round } from '../stats.ts';

export interface SideSummary {
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /**
   * CPU time per stored event, in microseconds: less sensitive than events/s to other work on
   * the machine, so the better figure to compare code changes by.
   */
  gateway_cpu_us_per_event: number;
  nats_cpu_us_per_event: number;
  /** The bench process: autocannon, or the direct publisher. */
  load_generator_cpu_us_per_event: number;
  runs: {
    events_per_s: number;
    p50_ms: number;
    p99_ms: number;
    errors: number;
    gateway_cpu_us_per_event: number;
    nats_cpu_us_per_event: number;
    load_generator_cpu_us_per_event: number;
    usage: Usage;
  }[];
}

export interface PublishScenarioResult {
  name: string;
  params: Record<string, number | string>;
  direct: SideSummary;
  gateway: SideSummary;
  /** Scenario 1 only: the bare bridge, loaded like the gateway (its CPU in `gateway_cpu_*`). */
  bare?: SideSummary;
  /** Scenario 1 only: the bare bridge in null mode (answers 202, publishes nothing). */
  null_server?: SideSummary;
  /**
   * Scenario 1 only: the null server held to the gateway's median request rate. A server's CPU per
   * request falls as its rate rises (more requests per turn of its event loop), and the null
   * server alone runs at more than twice the gateway's rate: this is the HTTP part of the floor at
   * the gateway's own load.
   */
  null_server_at_gateway_rate?: SideSummary;
  /** Median gateway events/s over median direct events/s. */
  ratio: number;
  /** Median bare-bridge events/s over median direct events/s. */
  bare_ratio?: number;
  /** Median null-server requests/s over median direct events/s. */
  null_ratio?: number;
  target_ratio: number;
  pass: boolean;
  /**
   * Every event the runs counted is in the stream: at least the count, at most the count plus
   * what was in flight when a run stopped (stored, but its answer not awaited).
   */
  stored_as_counted: boolean;
  stored: number;
  counted: number;
}

function summarize(runs: { load: LoadResult; usage: Usage; eventsPerOp: number }[]): SideSummary {
  const rows = runs.map(({ load, usage, eventsPerOp }) => ({
    events_per_s: round(load.perSecond * eventsPerOp, 0),
    p50_ms: round(load.latencyMs.p50, 2),
    p99_ms: round(load.latencyMs.p99, 2),
    errors: load.errors,
    gateway_cpu_us_per_event: round(((usage.cpu_percent.gateway / 100) * 1e6) / (load.perSecond * eventsPerOp), 1),
    nats_cpu_us_per_event: round(((usage.cpu_percent.nats / 100) * 1e6) / (load.perSecond * eventsPerOp), 1),
    load_generator_cpu_us_per_event: round(((usage.cpu_percent.load_generator / 100) * 1e6) / (load.perSecond * eventsPerOp), 1),
    usage,
  }));
  return {
    events_per_s: median(rows.map((r) => r.events_per_s)),
    p50_ms: median(rows.map((r) => r.p50_ms)),
    p99_ms: median(rows.map((r) => r.p99_ms)),
    gateway_cpu_us_per_event: median(rows.map((r) => r.gateway_cpu_us_per_event)),
    nats_cpu_us_per_event: median(rows.map((r) => r.nats_cpu_us_per_event)),
    load_generator_cpu_us_per_event: median(rows.map((r) => r.load_generator_cpu_us_per_event)),
    runs: rows,
  };
}

async function compare(
  ctx: BenchContext,
  name: string,
  eventsPerRequest: number,
  connections: number,
  targetRatio: number,
  references: References = {},
): Promise<PublishScenarioResult> {
  const s = ctx.settings;
  const inFlightEvents = connections * eventsPerRequest;
  const body = eventsPerRequest === 1 ? singleBody() : batchBody(eventsPerRequest);
  const path = eventsPerRequest === 1 ? '/v1/events' : '/v1/events/batch';
  // Bounds: no run outlasts loadMs, and none sends more than a generous 50k events/s would.
  const maxEvents = Math.ceil((s.loadMs / 1000) * 50_000);
  const httpRun = (target: GatewayProcess, ms: number, overallRate?: number) =>
    httpLoad({
      url: target.url,
      path,
      key: target.key,
      body,
      connections,
      durationMs: ms,
      maxRequests: Math.ceil(maxEvents / eventsPerRequest),
      ...(overallRate ? { overallRate } : {}),
    });
  const directRun = (ms: number) => directPublish({ natsUrl: ctx.natsUrl, inFlight: inFlightEvents, durationMs: ms, maxEvents });

  // Warm up every path (JIT, connection set-up), unmeasured.
  await httpRun(ctx.gateway, s.warmupMs);
  for (const ref of Object.values(references)) await httpRun(ref, s.warmupMs);
  await directRun(s.warmupMs);

  type Side = 'direct' | 'gateway' | keyof References;
  const runs: Record<Side, { load: LoadResult; usage: Usage; eventsPerOp: number }[]> = { direct: [], gateway: [], bare: [], null: [] };
  const sides: Side[] = ['direct', 'gateway', ...(Object.keys(references) as (keyof References)[])];
  let counted = 0;
  const storedBefore = await ctx.storedEvents();
  for (let r = 0; r < s.repeats; r++) {
    // Each repeat starts with the next side: every side runs first, second, … equally often.
    const order = sides.map((_, i) => sides[(i + r) % sides.length] as Side);
    for (const side of order) {
      if (side === 'direct') {
        const { result, usage } = await ctx.measure(() => directRun(s.loadMs));
        runs.direct.push({ load: result, usage, eventsPerOp: 1 });
        counted += result.ok;
      } else {
        const target = side === 'gateway' ? ctx.gateway : (references[side] as GatewayProcess);
        const { result, usage } = await ctx.measure(() => httpRun(target, s.loadMs), target.pid);
        runs[side].push({ load: result, usage, eventsPerOp: eventsPerRequest });
        if (side !== 'null') counted += result.ok * eventsPerRequest; // the null server stores nothing
      }
    }
  }
  const storedAfter = await ctx.storedEvents();
  const d = summarize(runs.direct);
  const g = summarize(runs.gateway);
  const nullAtRate: { load: LoadResult; usage: Usage; eventsPerOp: number }[] = [];
  if (references.null)
    for (let r = 0; r < s.repeats; r++) {
      const target = references.null;
      const { result, usage } = await ctx.measure(() => httpRun(target, s.loadMs, g.events_per_s / eventsPerRequest), target.pid);
      nullAtRate.push({ load: result, usage, eventsPerOp: eventsPerRequest });
    }
  const bare = references.bare ? summarize(runs.bare) : undefined;
  const nullServer = references.null ? summarize(runs.null) : undefined;
  const ratio = round(g.events_per_s / d.events_per_s, 3);
  return {
    name,
    params: {
      events_per_request: eventsPerRequest,
      connections,
      events_in_flight: inFlightEvents,
      load_s: s.loadMs / 1000,
      repeats: s.repeats,
      envelope_bytes: ENVELOPE_BYTES,
    },
    direct: d,
    gateway: g,
    ...(bare ? { bare, bare_ratio: round(bare.events_per_s / d.events_per_s, 3) } : {}),
    ...(nullServer ? { null_server: nullServer, null_ratio: round(nullServer.events_per_s / d.events_per_s, 3) } : {}),
    ...(nullAtRate.length > 0 ? { null_server_at_gateway_rate: summarize(nullAtRate) } : {}),
    ratio,
    target_ratio: targetRatio,
    pass: ratio >= targetRatio,
    stored_as_counted:
      storedAfter - storedBefore >= counted && storedAfter - storedBefore <= counted + sides.length * s.repeats * inFlightEvents,
    stored: storedAfter - storedBefore,
    counted,
  };
}

/**
 * Reference servers loaded like the gateway in scenario 1 (bench/bare-bridge.ts): `bare` publishes
 * to JetStream with nothing else around it, `null` answers 202 without publishing.
 */
export interface References {
  bare?: GatewayProcess;
  null?: GatewayProcess;
}

/** Scenario 1: one event a request, `inFlight` requests in flight; with the reference servers given. */
export function publishSingle(ctx: BenchContext, references: References = {}): Promise<PublishScenarioResult> {
  return compare(ctx, 'publish', 1, ctx.settings.inFlight, 0.6, references);
}

/** Scenario 2: `batchSize` events a request. */
export function publishBatch(ctx: BenchContext): Promise<PublishScenarioResult> {
  return compare(ctx, 'batch', ctx.settings.batchSize, ctx.settings.batchConnections, 0.9);
}

export interface CeilingResult {
  path: string;
  connections: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  gateway_cpu_us_per_request: number;
  runs: { requests_per_s: number; gateway_cpu_us_per_request: number; usage: Usage }[];
}

/**
 * Reference: the gateway answering `GET /healthz` (no body, no NATS) with the same connections as
 * scenario 1. What a request costs the HTTP stack alone bounds what any POST can reach.
 */
export async function httpCeiling(ctx: BenchContext): Promise<CeilingResult> {
  const s = ctx.settings;
  const run = (ms: number) =>
    httpLoad({
      url: ctx.gateway.url,
      path: '/healthz',
      key: ctx.gateway.key,
      connections: s.inFlight,
      durationMs: ms,
      maxRequests: ms * 100,
    });
  await run(s.warmupMs);
  const runs: { load: LoadResult; usage: Usage }[] = [];
  for (let r = 0; r < s.repeats; r++) {
    const { result, usage } = await ctx.measure(() => run(s.loadMs));
    runs.push({ load: result, usage });
  }
  const rows = runs.map(({ load, usage }) => ({
    requests_per_s: round(load.perSecond, 0),
    gateway_cpu_us_per_request: round(((usage.cpu_percent.gateway / 100) * 1e6) / load.perSecond, 1),
    p50_ms: load.latencyMs.p50,
    p99_ms: load.latencyMs.p99,
    usage,
  }));
  return {
    path: '/healthz',
    connections: s.inFlight,
    requests_per_s: median(rows.map((r) => r.requests_per_s)),
    p50_ms: median(rows.map((r) => r.p50_ms)),
    p99_ms: median(rows.map((r) => r.p99_ms)),
    gateway_cpu_us_per_request: median(rows.map((r) => r.gateway_cpu_us_per_request)),
    runs: rows.map(({ requests_per_s, gateway_cpu_us_per_request, usage }) => ({ requests_per_s, gateway_cpu_us_per_request, usage })),
  };
}
