// `npm run bench:correlation` (or `node bench/correlation-lookup.ts [--quick] [--stages=N,N]
// [--repeats=R] [--naive-max=N] [--out=DIR]`): shows that `GET /v1/correlations/{id}` costs what the correlation
// holds, not what the stream holds. Starts its own nats-server and an in-process gateway, fills the
// stream in stages (1,000,000 events at the end of the full run), and after each stage times
// lookups of correlations holding 1, 10, 100 and 1000 events through the gateway (`app.inject`),
// next to a naive full scan of the tenant's history that picks the correlation out client-side.
// Prints a table and writes JSON to bench/results/. Everything listens on 127.0.0.1 only.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { ApiKeys, sha256 } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { findNatsServer, natsServerVersion } from '../dev/nats-server/binary.ts';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { startNatsServer } from '../dev/nats-server/process.ts';
import { buildApp } from '../src/app.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    stages: { type: 'string' },
    repeats: { type: 'string' },
    'naive-max': { type: 'string' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results') },
  },
});

const QUICK = values.quick;
/** Stream sizes after each fill stage; lookups are timed after each. */
const STAGES = (values.stages ?? (QUICK ? '5000,50000' : '100000,1000000')).split(',').map(Number);
const SIZES = [1, 10, 100, 1000];
/** Correlations of each size, placed at random positions across the first stage. */
const PER_SIZE = QUICK ? 1 : 3;
const REPEATS = Number(values.repeats ?? (QUICK ? 3 : 5));
/** The naive scan reads the whole tenant history whatever the correlation: run once per stage, for this size. */
const NAIVE_SIZE = 1000;
const NAIVE_MAX = Number(values['naive-max'] ?? 2_000_000);
const IN_FLIGHT = 2000;
const TENANT = 'ten_bench';
const OTHER_TENANT = 'ten_other';
const KEY = 'bench-correlation-key';
const TYPES = Object.keys(BUILTIN_CATALOGUE);
const SOURCES = ['order-service', 'provisioning-service', 'dns-service', 'billing-service', 'monitoring-service'];

if (STAGES.some((n, i) => !Number.isInteger(n) || n < 1 || (i > 0 && n <= (STAGES[i - 1] as number)))) {
  throw new Error('--stages must be increasing positive integers');
}
const targetEvents = SIZES.reduce((a, s) => a + s * PER_SIZE, 0);
if ((STAGES[0] as number) < targetEvents * 2) throw new Error(`the first stage must hold at least ${targetEvents * 2} events`);

/** A small deterministic PRNG (mulberry32), so every run builds the same stream. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20260315);
const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;

// Target correlations: `cor_<size>_<n>`, their events at random positions of the first stage.
const targetAt = new Map<number, string>();
const targets: { id: string; size: number }[] = [];
for (const size of SIZES) {
  for (let n = 0; n < PER_SIZE; n++) {
    const id = `cor_${size}_${n}`;
    targets.push({ id, size });
    let placed = 0;
    while (placed < size) {
      const at = Math.floor(random() * (STAGES[0] as number));
      if (targetAt.has(at)) continue;
      targetAt.set(at, id);
      placed++;
    }
  }
}
/** Background correlations hold about ten events each; one event in ten belongs to another tenant. */
const backgroundCorrelations = Math.max(1, Math.floor((STAGES.at(-1) as number) / 10));

function envelopeAt(position: number): { subject: string; payload: string } {
  const target = targetAt.get(position);
  const tenant = target === undefined && random() < 0.1 ? OTHER_TENANT : TENANT;
  const correlationId = target ?? `bg_${Math.floor(random() * backgroundCorrelations)}`;
  const type = pick(TYPES);
  const event = {
    id: `evt_${position.toString(36).padStart(8, '0')}`,
    type,
    version: '1.0',
    tenant_id: tenant,
    timestamp: new Date().toISOString(),
    source: pick(SOURCES),
    data: BUILTIN_CATALOGUE[type]?.example ?? {},
    metadata: { correlation_id: correlationId, trace_id: `trace_${position}` },
  };
  return { subject: `events.${tenant}.${type}.${correlationId}`, payload: JSON.stringify(event) };
}

/** Publishes positions [from, to) with IN_FLIGHT publishes outstanding; events/second. */
async function fill(nc: NatsConnection, from: number, to: number): Promise<number> {
  const js = jetstream(nc, { timeout: 30_000 });
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (let position = from; position < to; position++) {
    const { subject, payload } = envelopeAt(position);
    // No msgID: the dedupe window is not what is measured, and a million ids would only cost memory.
    const p = js.publish(subject, payload).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if ((position - from) % 100_000 === 99_999) process.stdout.write(`  … ${position + 1} events\n`);
  }
  await Promise.all(inFlight);
  return Math.round((to - from) / ((performance.now() - started) / 1000));
}

/**
 * The noise floor, timed right before each lookup: one stored message fetched by sequence (a single
 * direct get). The machine is shared, so lookups are also reported as a multiple of it.
 */
async function baselineGet(nc: NatsConnection, maxSeq: number): Promise<number> {
  const started = performance.now();
  const m = await nc.request('$JS.API.DIRECT.GET.EVENTS', JSON.stringify({ seq: 1 + Math.floor(random() * maxSeq) }), { timeout: 60_000 });
  if (m.data.length === 0) throw new Error(`baseline direct get failed: ${m.headers?.code} ${m.headers?.description}`);
  return performance.now() - started;
}

/**
 * The naive lookup: read the tenant's whole history (batch direct gets over `events.<tenant>.>`,
 * the same primitive the gateway uses) and keep the events whose correlation id matches.
 */
async function naiveScan(nc: NatsConnection, correlationId: string): Promise<{ ms: number; found: number; scanned: number }> {
  const started = performance.now();
  let seq = 1;
  let found = 0;
  let scanned = 0;
  for (;;) {
    const replies = await nc.requestMany(
      '$JS.API.DIRECT.GET.EVENTS',
      JSON.stringify({ seq, next_by_subj: `events.${TENANT}.>`, batch: 10_000, max_bytes: 16 * 1024 * 1024 }),
      { strategy: 'sentinel', maxWait: 30_000 },
    );
    let got = 0;
    let done = false;
    for await (const m of replies) {
      if (m.data.length === 0) {
        done = m.headers?.code === 404 || m.headers?.get('Nats-Num-Pending') === '0';
        break;
      }
      got++;
      scanned++;
      seq = Number(m.headers?.get('Nats-Sequence')) + 1;
      const event = JSON.parse(m.string()) as { metadata: { correlation_id: string } };
      if (event.metadata.correlation_id === correlationId) found++;
    }
    if (done || got === 0 || scanned >= NAIVE_MAX) break;
  }
  return { ms: performance.now() - started, found, scanned };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
const round = (n: number) => Math.round(n * 100) / 100;

interface Row {
  stream_events: number;
  correlation_size: number;
  lookups: number;
  /** Median of the first lookup of each correlation. */
  first_lookup_median_ms: number;
  median_ms: number;
  p95_ms: number;
  min_ms: number;
  max_ms: number;
  naive_scan_ms?: number;
  naive_scanned?: number;
  /** One-minute load average when the row was measured: other work on the machine skews it. */
  /** Median of a single direct get by sequence, timed right before each lookup. */
  baseline_median_ms: number;
  load_1m: number;
}

async function main(): Promise<void> {
  const bin = await findNatsServer();
  const version = await natsServerVersion(bin);
  const storeDir = mkdtempSync(join(os.tmpdir(), 'gw-bench-correlation-'));
  const nats = await startNatsServer({ bin, storeDir });
  const keys = new ApiKeys();
  keys.add(TENANT, sha256(KEY).toString('hex'), ['read']);
  // A generous timeout: a slow answer on a loaded machine is a figure to report, not a failure.
  const config = configWith({ NATS_URL: [nats.url], LOG_LEVEL: 'silent', PUBLISH_TIMEOUT_MS: 60_000 });
  const app = await buildApp(config, { apiKeys: keys, logger: pino({ level: 'silent' }) });
  await app.ready();
  const nc = await connect({ servers: nats.url, name: 'bench-correlation-lookup' });

  const machine = {
    cpu_model: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpu_count: os.cpus().length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    nats_server: version ? version.join('.') : 'unknown',
    load_average_at_start: os.loadavg().map((l) => round(l)),
  };
  console.log(
    `machine: ${machine.cpu_count} × ${machine.cpu_model}, ${machine.memory_gib} GiB, node ${machine.node}, nats-server ${machine.nats_server}, load ${machine.load_average_at_start.join(' ')}`,
  );

  const rows: Row[] = [];
  const fills: { to: number; events_per_second: number }[] = [];
  try {
    let filled = 0;
    for (const stage of STAGES) {
      console.log(`filling ${filled} → ${stage} events`);
      const rate = await fill(nc, filled, stage);
      fills.push({ to: stage, events_per_second: rate });
      filled = stage;
      console.log(`  ${rate} events/s`);
      // Let nats-server finish writing before timing reads.
      await new Promise((resolve) => setTimeout(resolve, 3000));

      for (const size of SIZES) {
        const samples: number[] = [];
        const cold: number[] = [];
        const baseline: number[] = [];
        for (const target of targets.filter((t) => t.size === size)) {
          const url = `/v1/correlations/${target.id}`;
          const headers = { authorization: `Bearer ${KEY}` };
          // The first lookup of a correlation may find its blocks out of nats-server's cache: reported apart.
          for (let r = 0; r <= REPEATS; r++) {
            baseline.push(await baselineGet(nc, stage));
            const started = performance.now();
            const res = await app.inject({ method: 'GET', url, headers });
            (r === 0 ? cold : samples).push(performance.now() - started);
            const body = res.json() as { events: { event: { metadata: { correlation_id: string } } }[] };
            if (
              res.statusCode !== 200 ||
              body.events.length !== size ||
              body.events.some((e) => e.event.metadata.correlation_id !== target.id)
            ) {
              throw new Error(`lookup of ${target.id} answered ${res.statusCode} (${res.body.slice(0, 300)}), expected ${size} events`);
            }
          }
        }
        samples.sort((a, b) => a - b);
        baseline.sort((a, b) => a - b);
        const row: Row = {
          stream_events: stage,
          correlation_size: size,
          lookups: samples.length,
          first_lookup_median_ms: round(
            quantile(
              cold.sort((a, b) => a - b),
              0.5,
            ),
          ),
          median_ms: round(quantile(samples, 0.5)),
          p95_ms: round(quantile(samples, 0.95)),
          min_ms: round(samples[0] as number),
          max_ms: round(samples.at(-1) as number),
          baseline_median_ms: round(quantile(baseline, 0.5)),
          load_1m: round(os.loadavg()[0] as number),
        };
        rows.push(row);
        console.log(
          `  size ${String(size).padStart(4)}: first ${row.first_lookup_median_ms} ms, median ${row.median_ms} ms, p95 ${row.p95_ms} ms, baseline ${row.baseline_median_ms} ms`,
        );
      }
      const naive = await naiveScan(nc, `cor_${NAIVE_SIZE}_0`);
      if (naive.found !== NAIVE_SIZE)
        throw new Error(`naive scan found ${naive.found} events of cor_${NAIVE_SIZE}_0, expected ${NAIVE_SIZE}`);
      for (const row of rows.filter((r) => r.stream_events === stage)) {
        row.naive_scan_ms = round(naive.ms);
        row.naive_scanned = naive.scanned;
      }
      console.log(`  naive scan: ${round(naive.ms)} ms over ${naive.scanned} events`);
    }
  } finally {
    await nc.close();
    await app.close();
    await nats.stop();
    rmSync(storeDir, { recursive: true, force: true });
  }

  const header =
    '| stream events | correlation size | lookups | first lookup ms | median ms | p95 ms | max ms | baseline ms | median / baseline | naive full scan ms | naive / median | load 1m |';
  const lines = [header, '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const ratio = r.naive_scan_ms === undefined ? '' : `${Math.round(r.naive_scan_ms / r.median_ms)}×`;
    lines.push(
      `| ${r.stream_events} | ${r.correlation_size} | ${r.lookups} | ${r.first_lookup_median_ms} | ${r.median_ms} | ${r.p95_ms} | ${r.max_ms} | ${r.baseline_median_ms} | ${round(r.median_ms / r.baseline_median_ms)} | ${r.naive_scan_ms ?? ''} | ${ratio} | ${r.load_1m} |`,
    );
  }
  console.log(`\n${lines.join('\n')}\n`);
  console.log(`fill rates: ${fills.map((f) => `to ${f.to}: ${f.events_per_second} events/s`).join('; ')}`);

  const outDir = values.out;
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `correlation-lookup-${QUICK ? 'quick' : 'full'}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'correlation-lookup', quick: QUICK, stages: STAGES, per_size: PER_SIZE, repeats: REPEATS, machine, fills, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${file}`);
}

await main();
