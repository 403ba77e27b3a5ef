// Scenario 7: the gateway's WebSocket fan-out beside its peer, nats-server's own WebSocket
// listener with a minimal NATS client (bench/nats-ws-subscriber.ts) subscribed to the same live
// subjects the gateway's feed reads. The same events reach both: published straight to JetStream
// by the bench (so publishing costs the gateway nothing), republished by the stream to the live
// subjects. Two measures, each alternating gateway and peer (ABAB…, one side connected at a time):
// - burst: N subscribers, a burst of E events (N × E deliveries), deliveries/s from the first
//   publish to the last delivery, and CPU per delivery of the gateway and of nats-server;
// - latency: N subscribers, a paced flow of R events/s, publish → delivery per event, sampled on
//   every 10th subscriber (so the bench's own parsing stays small beside what it measures).
// Bounded in count and time throughout.
import { jetstream } from '@nats-io/jetstream';
import { liveTenantSubjects } from '../../src/bus/subjects.ts';
import type { BenchContext } from '../context.ts';
import { directPublishAtRate } from '../direct-publisher.ts';
import { closePeers, connectPeers } from '../nats-ws-subscriber.ts';
import { BENCH_TENANT, EXAMPLE_CORRELATION_ID, EXAMPLE_TYPE, envelopeJson } from '../payload.ts';
import { latencySummary, median, round } from '../stats.ts';
import { closeAll, connectMany } from '../ws-subscriber.ts';
import { eventSubject } from '../../src/bus/subjects.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let runs = 0;
const runId = () => `${process.pid}_${Date.now()}_${runs++}`;
/** Every SAMPLE_EVERY-th subscriber records latencies. */
const SAMPLE_EVERY = 10;

async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

type Side = 'gateway' | 'peer';

/** What one side's subscribers are: a count of deliveries and the time of the last. */
interface Receivers {
  delivered(): number;
  lastAt(): number;
  close(): Promise<void>;
}

const EVENT_ID_AT = Buffer.from('"id":"');

/** The event id in a gateway frame or a stored envelope: the first `"id":"` after `from`. */
function idIn(bytes: Buffer, from: number): string | undefined {
  const at = bytes.indexOf(EVENT_ID_AT, from);
  if (at < 0) return undefined;
  const start = at + EVENT_ID_AT.length;
  return bytes.toString('latin1', start, bytes.indexOf(0x22, start));
}
const GATEWAY_EVENT_AT = Buffer.from('"event":{');

async function connectSide(
  ctx: BenchContext,
  side: Side,
  n: number,
  onArrival?: (id: string | undefined, at: number) => void,
): Promise<Receivers> {
  if (side === 'gateway') {
    const subs = await connectMany(ctx.gateway.url, ctx.gateway.key, n, 50, (i) =>
      onArrival && i % SAMPLE_EVERY === 0 ? { onEvent: (frame, at) => onArrival(idIn(frame, frame.indexOf(GATEWAY_EVENT_AT)), at) } : {},
    );
    return {
      delivered: () => subs.reduce((sum, s) => sum + s.events, 0),
      lastAt: () => Math.max(...subs.map((s) => s.lastEventAt)),
      close: () => closeAll(subs),
    };
  }
  const wsUrl = ctx.natsWsUrl;
  if (!wsUrl) throw new Error('no nats-server WebSocket listener');
  const subs = await connectPeers(wsUrl, liveTenantSubjects('events', BENCH_TENANT), n, (i) =>
    onArrival && i % SAMPLE_EVERY === 0 ? (payload, at) => onArrival(idIn(payload, 0), at) : undefined,
  );
  return {
    delivered: () => subs.reduce((sum, s) => sum + s.events, 0),
    lastAt: () => Math.max(...subs.map((s) => s.lastEventAt)),
    close: () => closePeers(subs),
  };
}

export interface BurstRound {
  side: Side;
  deliveries: number;
  expected: number;
  seconds: number;
  deliveries_per_s: number;
  /** CPU µs per delivery: of the gateway (gateway side only) and of nats-server. */
  gateway_cpu_us_per_delivery: number | undefined;
  nats_cpu_us_per_delivery: number;
}

export interface PeerFanOutResult {
  subscribers: number;
  burst_events: number;
  gateway_deliveries_per_s: number;
  peer_deliveries_per_s: number;
  /** Gateway ÷ peer deliveries/s (medians). */
  ratio: number;
  gateway_cpu_us_per_delivery: number;
  peer_nats_cpu_us_per_delivery: number;
  rounds: BurstRound[];
  latency: {
    rate_per_s: number;
    duration_s: number;
    sampled_subscribers: number;
    gateway_ms: { p50: number; p99: number; p99_9: number; max: number; count: number };
    peer_ms: { p50: number; p99: number; p99_9: number; max: number; count: number };
  };
  /** Burst ratio ≥ 1 and latency p99 ≤ the peer's (issue targets). */
  pass_burst: boolean;
  pass_latency: boolean;
}

async function burst(ctx: BenchContext, side: Side, n: number, events: number): Promise<BurstRound> {
  const receivers = await connectSide(ctx, side, n);
  try {
    await sleep(300);
    const js = jetstream(ctx.nc, { timeout: 10_000 });
    const subject = eventSubject('events', BENCH_TENANT, EXAMPLE_TYPE, EXAMPLE_CORRELATION_ID);
    const run = runId();
    const base = receivers.delivered();
    const expected = n * events;
    const measured = await ctx.measure(async () => {
      const start = performance.now();
      await Promise.all(
        Array.from({ length: events }, (_, i) => js.publish(subject, envelopeJson(`evt_fan_${run}_${i}`), { msgID: `${BENCH_TENANT}:fan_${run}_${i}` })),
      );
      await waitFor(() => receivers.delivered() - base >= expected, 120_000);
      return { deliveries: receivers.delivered() - base, seconds: (receivers.lastAt() - start) / 1000 };
    });
    const { deliveries, seconds } = measured.result;
    const cpuUs = (cpuSeconds: number) => round((cpuSeconds * 1e6) / Math.max(1, deliveries), 2);
    return {
      side,
      deliveries,
      expected,
      seconds: round(seconds, 3),
      deliveries_per_s: round(deliveries / seconds, 0),
      gateway_cpu_us_per_delivery: side === 'gateway' ? cpuUs(measured.usage.cpu_seconds?.gateway ?? Number.NaN) : undefined,
      nats_cpu_us_per_delivery: cpuUs(measured.usage.cpu_seconds?.nats ?? Number.NaN),
    };
  } finally {
    await receivers.close();
    await sleep(300);
  }
}

async function pacedLatency(ctx: BenchContext, side: Side, n: number, perSecond: number, durationMs: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const receivers = await connectSide(ctx, side, n, (id, at) => {
    const t0 = id === undefined ? undefined : sentAt.get(id);
    if (t0 !== undefined) latencies.push(at - t0);
  });
  try {
    await sleep(300);
    const r = await directPublishAtRate({
      natsUrl: ctx.natsUrl,
      perSecond,
      durationMs,
      idPrefix: `evt_lat_${runId()}`,
      onSend: (id, at) => sentAt.set(id, at),
    });
    const sampled = Math.ceil(n / SAMPLE_EVERY);
    await waitFor(() => latencies.length >= r.accepted * sampled, 15_000);
    return latencies;
  } finally {
    await receivers.close();
    await sleep(300);
  }
}

export async function fanOutAgainstPeer(ctx: BenchContext, n: number, events: number, perSecond: number, latencyMs: number): Promise<PeerFanOutResult> {
  const rounds: BurstRound[] = [];
  for (let i = 0; i < ctx.settings.repeats; i++) {
    rounds.push(await burst(ctx, 'gateway', n, events));
    rounds.push(await burst(ctx, 'peer', n, events));
  }
  const of = (side: Side) => rounds.filter((r) => r.side === side);
  const gatewayRate = median(of('gateway').map((r) => r.deliveries_per_s));
  const peerRate = median(of('peer').map((r) => r.deliveries_per_s));

  // Latency in halves, alternating, so both sides meet the same machine.
  const gatewayLat: number[] = [];
  const peerLat: number[] = [];
  for (let i = 0; i < 2; i++) {
    // (Appended one by one: hundreds of thousands of samples overflow a spread's stack.)
    for (const l of await pacedLatency(ctx, 'gateway', n, perSecond, latencyMs / 2)) gatewayLat.push(l);
    for (const l of await pacedLatency(ctx, 'peer', n, perSecond, latencyMs / 2)) peerLat.push(l);
  }
  const pick = (l: ReturnType<typeof latencySummary>) => ({
    p50: round(l.p50, 2),
    p99: round(l.p99, 2),
    p99_9: round(l.p99_9, 2),
    max: round(l.max, 2),
    count: l.count,
  });
  const g = pick(latencySummary(gatewayLat));
  const p = pick(latencySummary(peerLat));
  const ratio = round(gatewayRate / peerRate, 3);
  return {
    subscribers: n,
    burst_events: events,
    gateway_deliveries_per_s: gatewayRate,
    peer_deliveries_per_s: peerRate,
    ratio,
    gateway_cpu_us_per_delivery: median(of('gateway').map((r) => r.gateway_cpu_us_per_delivery ?? Number.NaN)),
    peer_nats_cpu_us_per_delivery: median(of('peer').map((r) => r.nats_cpu_us_per_delivery)),
    rounds,
    latency: {
      rate_per_s: perSecond,
      duration_s: latencyMs / 1000,
      sampled_subscribers: Math.ceil(n / SAMPLE_EVERY),
      gateway_ms: g,
      peer_ms: p,
    },
    pass_burst: ratio >= 1 && rounds.every((r) => r.deliveries === r.expected),
    pass_latency: g.p99 <= p.p99,
  };
}
