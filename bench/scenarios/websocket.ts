// Scenarios 3-5, over the WebSocket endpoint (GET /v1/ws): end-to-end latency from POST to
// delivery at a fixed rate, fan-out to thousands of subscribers on one gateway, and a subscriber
// that stops reading while events flow. Every load is bounded in count and time.
import type { BenchContext, Usage } from '../context.ts';
import { publishAtRate } from '../rate-publisher.ts';
import { liveTenantSubjects } from '../../src/bus/subjects.ts';
import { directPublishAtRate } from '../direct-publisher.ts';
import { BENCH_TENANT, batchBody, envelopeJson } from '../payload.ts';
import { latencySummary, median, round } from '../stats.ts';
import { closeAll, connectMany, connectSubscriber, type Subscriber } from '../ws-subscriber.ts';

const MIB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let runs = 0;
const runId = () => `${process.pid}_${Date.now()}_${runs++}`;

/** Polls `done` every 20 ms until it is true or `ms` passed; returns whether it became true. */
async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

export interface EndToEndResult {
  rate_per_s: number;
  duration_s: number;
  sent: number;
  accepted: number;
  delivered: number;
  /** POST → WebSocket frame received, ms. */
  e2e_ms: { p50: number; p99: number; p99_9: number; max: number };
  /** POST → 202, ms. */
  post_ms: { p50: number; p99: number; p99_9: number; max: number };
  /**
   * The same flow without the gateway: publishes straight to JetStream, received on a core NATS
   * subscription to the stream's republish subjects (what the gateway's live hub reads). What the
   * bus and this machine cost on their own, for comparison.
   */
  direct: {
    accepted: number;
    delivered: number;
    /** publish → message received, ms. */
    e2e_ms: { p50: number; p99: number; p99_9: number; max: number };
    /** publish → JetStream acknowledgement, ms. */
    ack_ms: { p50: number; p99: number; p99_9: number; max: number };
  };
  /**
   * The same POSTs, at the same pace in the same slices, to the reference servers of scenario 1
   * (bench/bare-bridge.ts): `null_server` answers 202 without publishing (one HTTP round trip,
   * the floor of any HTTP front), `bare_bridge` publishes with the gateway's own bus and answers
   * once stored (HTTP + JetStream, with no framework, authentication or validation).
   */
  references?: {
    null_server?: { accepted: number; post_ms: LatencyPick };
    bare_bridge?: { accepted: number; post_ms: LatencyPick };
  };
  target_p99_ms: number;
  pass: boolean;
  usage: Usage;
}

type LatencyPick = { p50: number; p99: number; p99_9: number; max: number };

/** Reference servers for scenario 3: the URLs of bench/bare-bridge.ts in each mode. */
export interface EndToEndReferences {
  nullServer?: { url: string; key: string };
  bareBridge?: { url: string; key: string };
}

const pick = (l: { p50: number; p99: number; p99_9: number; max: number }) => ({
  p50: round(l.p50, 2),
  p99: round(l.p99, 2),
  p99_9: round(l.p99_9, 2),
  max: round(l.max, 2),
});

const ID_AT = Buffer.from('"event":{"id":"');

/** The event id of an event frame: the envelope is embedded as stored, `id` first. */
function frameEventId(frame: Buffer): string | undefined {
  const from = frame.indexOf(ID_AT);
  if (from < 0) return undefined;
  return frame.toString('latin1', from + ID_AT.length, frame.indexOf(0x22, from + ID_AT.length));
}

const ENVELOPE_ID_AT = Buffer.from('{"id":"');

/** The event id of a stored envelope (a republished message): the example's first field is `id`. */
function envelopeId(data: Uint8Array): string | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!bytes.subarray(0, ENVELOPE_ID_AT.length).equals(ENVELOPE_ID_AT)) return undefined;
  return bytes.toString('latin1', ENVELOPE_ID_AT.length, bytes.indexOf(0x22, ENVELOPE_ID_AT.length));
}

/** Latency from a recorded send time to arrival, per event id; ids not recorded are ignored. */
class ArrivalClock {
  readonly sentAt = new Map<string, number>();
  readonly latencies: number[] = [];
  readonly onSend = (id: string, at: number): void => {
    this.sentAt.set(id, at);
  };
  arrived(id: string | undefined, at: number): void {
    const t0 = id === undefined ? undefined : this.sentAt.get(id);
    if (t0 === undefined) return;
    this.latencies.push(at - t0);
    this.sentAt.delete(id as string);
  }
}

/**
 * Scenario 3: a fixed rate of single POSTs, one subscriber to every type, latency per event.
 * Beside it the same flow without the gateway: publishes straight to JetStream, received on a
 * core NATS subscription to the stream's republish subjects (what the gateway's live hub reads).
 * The two alternate in slices (direct, gateway, direct, ...) so both meet the same machine; the
 * reference servers, when given, take their turn in each slice too (POST → 202 only).
 */
export async function endToEnd(ctx: BenchContext, refs: EndToEndReferences = {}): Promise<EndToEndResult> {
  const s = ctx.settings;
  const slices = s.quick ? 2 : 6;
  const sliceMs = s.e2eMs / slices;
  const viaGateway = new ArrivalClock();
  const viaBus = new ArrivalClock();
  const busSub = ctx.nc.subscribe(liveTenantSubjects('events', BENCH_TENANT), {
    callback: (err, msg) => {
      if (!err) viaBus.arrived(envelopeId(msg.data), performance.now());
    },
  });
  const sub = await connectSubscriber(ctx.gateway.url, ctx.gateway.key, {
    onEvent: (frame, at) => viaGateway.arrived(frameEventId(frame), at),
  });
  try {
    await ctx.nc.flush();
    const gatewayFlow = (ms: number, onSend?: (id: string, at: number) => void, perSecond = s.e2eRate) =>
      publishAtRate({
        url: ctx.gateway.url,
        key: ctx.gateway.key,
        perSecond,
        durationMs: ms,
        idPrefix: `evt_e2e_${runId()}`,
        ...(onSend ? { onSend } : {}),
      });
    const directFlow = (ms: number, onSend?: (id: string, at: number) => void, perSecond = s.e2eRate) =>
      directPublishAtRate({
        natsUrl: ctx.natsUrl,
        perSecond,
        durationMs: ms,
        idPrefix: `evt_e2ed_${runId()}`,
        ...(onSend ? { onSend } : {}),
      });
    // Unrecorded warm-up of both paths (connections, and the JIT: see e2eWarmupEvents), at four
    // times the measured rate.
    const warmupRate = 4 * s.e2eRate;
    const warmupMs = (s.e2eWarmupEvents / warmupRate) * 1000;
    // A reference that fails requests measures nothing: stop the run rather than report it.
    const referenceFlow = async (server: { url: string; key: string }, ms: number, perSecond = s.e2eRate) => {
      const r = await publishAtRate({ url: server.url, key: server.key, perSecond, durationMs: ms, idPrefix: `evt_e2er_${runId()}` });
      if (r.failed > 0 || r.accepted !== r.sent) throw new Error(`reference ${server.url}: ${r.failed} of ${r.sent} POSTs failed`);
      return r;
    };
    const references = [
      ['null_server', refs.nullServer],
      ['bare_bridge', refs.bareBridge],
    ].filter((r): r is ['null_server' | 'bare_bridge', { url: string; key: string }] => r[1] !== undefined);
    await gatewayFlow(warmupMs, undefined, warmupRate);
    await directFlow(warmupMs, undefined, warmupRate);
    for (const [, server] of references) await referenceFlow(server, warmupMs, warmupRate);
    const referencePost: Record<string, number[]> = Object.fromEntries(references.map(([name]) => [name, []]));

    const post: number[] = [];
    const ack: number[] = [];
    let sent = 0;
    let accepted = 0;
    let failed = 0;
    let seconds = 0;
    let directAccepted = 0;
    const cpu = { gateway: 0, nats: 0, load_generator: 0 };
    let rssPeak = 0;
    for (let i = 0; i < slices; i++) {
      const d = await directFlow(sliceMs, viaBus.onSend);
      directAccepted += d.accepted;
      ack.push(...d.latencies);
      for (const [name, server] of references) referencePost[name]?.push(...(await referenceFlow(server, sliceMs)).latencies);
      const { result: g, usage } = await ctx.measure(() => gatewayFlow(sliceMs, viaGateway.onSend));
      sent += g.sent;
      accepted += g.accepted;
      failed += g.failed;
      seconds += g.seconds;
      post.push(...g.latencies);
      for (const k of ['gateway', 'nats', 'load_generator'] as const) cpu[k] += usage.cpu_percent[k] / slices;
      rssPeak = Math.max(rssPeak, usage.gateway_rss_peak_mib);
    }
    await waitFor(() => viaGateway.latencies.length >= accepted && viaBus.latencies.length >= directAccepted, 5_000);
    const e2e = latencySummary(viaGateway.latencies);
    return {
      rate_per_s: round(sent / seconds, 0),
      duration_s: round(seconds, 1),
      sent,
      accepted,
      delivered: viaGateway.latencies.length,
      e2e_ms: pick(e2e),
      post_ms: pick(latencySummary(post)),
      direct: {
        accepted: directAccepted,
        delivered: viaBus.latencies.length,
        e2e_ms: pick(latencySummary(viaBus.latencies)),
        ack_ms: pick(latencySummary(ack)),
      },
      references: Object.fromEntries(
        Object.entries(referencePost).map(([name, l]) => [name, { accepted: l.length, post_ms: pick(latencySummary(l)) }]),
      ),
      target_p99_ms: 10,
      pass: e2e.p99 <= 10 && viaGateway.latencies.length === accepted && failed === 0,
      usage: {
        cpu_percent: { gateway: round(cpu.gateway, 0), nats: round(cpu.nats, 0), load_generator: round(cpu.load_generator, 0) },
        gateway_rss_peak_mib: rssPeak,
      },
    };
  } finally {
    busSub.unsubscribe();
    await closeAll([sub]);
  }
}

export interface FanOutRound {
  deliveries: number;
  expected: number;
  /** Every subscriber received every event of the round (each one counted, not only the sum). */
  every_subscriber: boolean;
  seconds: number;
  deliveries_per_s: number;
}

export interface FanOutResult {
  subscribers: number;
  events_per_round: number;
  connect_s: number;
  rss_before_mib: number;
  rss_connected_mib: number;
  rss_peak_mib: number;
  rss_per_connection_kib: number;
  deliveries_per_s: number;
  rounds: FanOutRound[];
  usage: Usage | undefined;
  /** Total gateway RSS at 5,000 subscribers must stay within 1 GiB. */
  target_rss_mib: number;
  pass: boolean;
}

/** What a fan-out scenario needs of its transport's subscribers: a count of events and when the last came. */
export interface CountingSubscribers<S extends { events: number; lastEventAt: number }> {
  /** Opens `n` subscribers of the bench tenant to every type. */
  connect(n: number): Promise<S[]>;
  close(subs: S[]): Promise<void>;
  /** Part of the event ids of each round, so no two rounds or transports share one. */
  idTag: string;
}

/** The fan-out measure shared by scenario 4 (WebSocket) and scenario 8 (SSE), without its pass verdict. */
export type FanOutMeasure = Omit<FanOutResult, 'target_rss_mib' | 'pass'>;

/**
 * `n` subscribers on a fresh gateway; a batch of events published, timed until every subscriber has
 * every one (each counted, not only the sum), twice; RSS before and after connecting, and at peak.
 */
export async function measureFanOut<S extends { events: number; lastEventAt: number }>(
  ctx: BenchContext,
  n: number,
  transport: CountingSubscribers<S>,
): Promise<FanOutMeasure> {
  const s = ctx.settings;
  const rounds: FanOutRound[] = [];
  const rssBefore = ctx.gatewayRssBytes();
  const t0 = performance.now();
  const subs = await transport.connect(n);
  let usage: Usage | undefined;
  let rssPeak = 0;
  try {
    const connectS = (performance.now() - t0) / 1000;
    await sleep(500);
    const rssConnected = ctx.gatewayRssBytes();
    const body = batchBody(s.fanoutEvents).replaceAll('[<id>]', () => runId());
    for (let roundNo = 0; roundNo < (s.quick ? 1 : 2); roundNo++) {
      const base = subs.map((sub) => sub.events);
      const expected = n * s.fanoutEvents;
      const delivered = () => subs.reduce((sum, sub, i) => sum + sub.events - (base[i] as number), 0);
      const measured = await ctx.measure(async () => {
        const start = performance.now();
        const res = await fetch(`${ctx.gateway.url}/v1/events/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.gateway.key}` },
          body: body.replaceAll('"id":"evt_', `"id":"evt_${transport.idTag}${roundNo}_`),
        });
        const answer = (await res.json()) as { failed?: number };
        if (res.status !== 200 || answer.failed !== 0) throw new Error(`fan-out batch refused: ${res.status} ${JSON.stringify(answer)}`);
        await waitFor(() => delivered() >= expected, 60_000);
        const last = Math.max(...subs.map((sub) => sub.lastEventAt));
        // Each subscriber, not only the sum: every one got every event of the round, once.
        const everySubscriber = subs.every((sub, i) => sub.events - (base[i] as number) === s.fanoutEvents);
        return { deliveries: delivered(), seconds: (last - start) / 1000, everySubscriber };
      });
      usage = measured.usage;
      rssPeak = Math.max(rssPeak, measured.usage.gateway_rss_peak_mib * MIB);
      const { deliveries, seconds, everySubscriber } = measured.result;
      rounds.push({ deliveries, expected, every_subscriber: everySubscriber, seconds: round(seconds, 3), deliveries_per_s: round(deliveries / seconds, 0) });
    }
    return {
      subscribers: n,
      events_per_round: s.fanoutEvents,
      connect_s: round(connectS, 1),
      rss_before_mib: round(rssBefore / MIB, 1),
      rss_connected_mib: round(rssConnected / MIB, 1),
      rss_peak_mib: round(Math.max(rssPeak, rssConnected) / MIB, 1),
      rss_per_connection_kib: round((rssConnected - rssBefore) / 1024 / n, 1),
      deliveries_per_s: median(rounds.map((r) => r.deliveries_per_s)),
      rounds,
      usage,
    };
  } finally {
    await transport.close(subs);
    await sleep(500);
  }
}

/** Every subscriber got every event in every round. */
export const everyoneReceived = (m: FanOutMeasure): boolean => m.rounds.every((r) => r.deliveries === r.expected && r.every_subscriber);

/** Scenario 4: `n` WebSocket subscribers (measureFanOut); within 1 GiB of RSS, every one receiving. */
export async function fanOut(ctx: BenchContext, n: number): Promise<FanOutResult> {
  const m = await measureFanOut(ctx, n, {
    connect: (count) => connectMany(ctx.gateway.url, ctx.gateway.key, count),
    close: (subs) => closeAll(subs),
    idTag: 'r',
  });
  return { ...m, target_rss_mib: 1024, pass: m.rss_peak_mib < 1024 && everyoneReceived(m) };
}

export interface SlowConsumerResult {
  rate_per_s: number;
  duration_s: number;
  send_buffer_bytes: number;
  /** Gateway RSS once a second during the same flow with only the reading subscriber (control). */
  control_rss_mib: number[];
  /** Gateway RSS once a second while one subscriber does not read. */
  rss_mib: number[];
  control_rss_max_mib: number;
  rss_start_mib: number;
  rss_max_mib: number;
  /** Peak RSS with the stuck reader minus peak RSS without it. */
  added_by_slow_reader_mib: number;
  /**
   * RSS growth over the second half of the flow with the stuck reader, while the events it does
   * not read keep coming: unbounded buffering would grow here with every event.
   */
  second_half_growth_mib: number;
  /** The same over the control flow's second half: what the flow grows by itself (heap, JIT). */
  control_second_half_growth_mib: number;
  /** Bytes of event frames the stuck reader did not get. */
  undelivered_bytes: number;
  /**
   * How the connection of the reader that stopped reading ended, seen once it reads again: 4010
   * when the gateway's close frame got through, 1006 when the gateway gave up waiting for the
   * closing handshake (its close grace) and dropped the connection first.
   */
  slow_close_code: number | undefined;
  /** Seconds into the flow when the last event the slow reader got was sent: the cut-off. */
  slow_cut_off_after_s: number | undefined;
  /** The gateway stopped sending to the slow reader before the flow ended. */
  slow_cut_off: boolean;
  /** Events the slow reader got after it stopped reading (from kernel and gateway buffers). */
  slow_events_after_stop: number;
  /** A reader on the same gateway that kept reading got every event. */
  healthy_delivered: number;
  accepted: number;
  /**
   * Bounded: the stuck reader was cut off and closed, and RSS did not grow by more than two send
   * buffers over the second half of the flow (while more than that went undelivered).
   */
  pass: boolean;
}

/** A steady flow of POSTs with the gateway's RSS sampled once a second; waits for `healthy` to get them all. */
async function flowWithRss(ctx: BenchContext, healthy: Subscriber, onSend?: (id: string, at: number) => void) {
  const s = ctx.settings;
  const healthyBase = healthy.events;
  const rss: number[] = [ctx.gatewayRssBytes()];
  const sampler = setInterval(() => rss.push(ctx.gatewayRssBytes()), 1000);
  try {
    const result = await publishAtRate({
      url: ctx.gateway.url,
      key: ctx.gateway.key,
      perSecond: s.slowRate,
      durationMs: s.slowMs,
      idPrefix: `evt_slow_${runId()}`,
      ...(onSend ? { onSend } : {}),
    });
    await waitFor(() => healthy.events - healthyBase >= result.accepted, 5_000);
    rss.push(ctx.gatewayRssBytes());
    return { result, rssMib: rss.map((b) => round(b / MIB, 1)), healthyDelivered: healthy.events - healthyBase };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Scenario 5: one subscriber stops reading while a steady flow of events goes on. The same flow
 * runs first with only a reading subscriber, so the RSS the stuck reader adds is told apart from
 * the heap the flow itself grows.
 */
export async function slowConsumer(ctx: BenchContext, sendBufferBytes: number): Promise<SlowConsumerResult> {
  const sentAt = new Map<string, number>();
  let lastSlowId: string | undefined;
  const healthy = await connectSubscriber(ctx.gateway.url, ctx.gateway.key);
  let slow: Subscriber | undefined;
  try {
    const control = await flowWithRss(ctx, healthy);
    slow = await connectSubscriber(ctx.gateway.url, ctx.gateway.key, {
      onEvent: (frame) => {
        lastSlowId = frameEventId(frame) ?? lastSlowId;
      },
    });
    slow.stopReading();
    const slowBase = slow.events;
    const start = performance.now();
    const stuck = await flowWithRss(ctx, healthy, (id, at) => sentAt.set(id, at));
    // Read again: what was buffered arrives, then the gateway's close frame (if it got through).
    slow.resumeReading();
    const closed = await Promise.race([slow.closed, sleep(10_000).then(() => undefined)]);
    const controlMax = Math.max(...control.rssMib);
    const maxMib = Math.max(...stuck.rssMib);
    const cutOff = lastSlowId === undefined ? undefined : sentAt.get(lastSlowId);
    const cutOffS = cutOff === undefined ? undefined : (cutOff - start) / 1000;
    const slowGot = slow.events - slowBase;
    // Cut off: closed, and the last event it got was sent at least a second before the flow ended.
    const wasCutOff = closed !== undefined && slowGot < stuck.result.accepted && (cutOffS ?? 0) < stuck.result.seconds - 1;
    const added = round(maxMib - controlMax, 1);
    const secondHalf = (rss: number[]) => {
      const half = rss.slice(Math.floor(rss.length / 2));
      return round(Math.max(...half) - (half[0] as number), 1);
    };
    const secondHalfGrowth = secondHalf(stuck.rssMib);
    const controlGrowth = secondHalf(control.rssMib);
    const frameBytes = Buffer.byteLength(
      `{"op":"event","sub":"s1","seq":1000000,"delivery":1,"event":${envelopeJson('evt_slow_0000000000000_00000')}}`,
    );
    return {
      rate_per_s: ctx.settings.slowRate,
      duration_s: round(stuck.result.seconds, 1),
      send_buffer_bytes: sendBufferBytes,
      control_rss_mib: control.rssMib,
      rss_mib: stuck.rssMib,
      control_rss_max_mib: controlMax,
      rss_start_mib: stuck.rssMib[0] as number,
      rss_max_mib: maxMib,
      added_by_slow_reader_mib: added,
      second_half_growth_mib: secondHalfGrowth,
      control_second_half_growth_mib: controlGrowth,
      undelivered_bytes: (stuck.result.accepted - slowGot) * frameBytes,
      slow_close_code: closed?.code,
      slow_cut_off_after_s: cutOffS === undefined ? undefined : round(cutOffS, 1),
      slow_cut_off: wasCutOff,
      slow_events_after_stop: slowGot,
      healthy_delivered: stuck.healthyDelivered,
      accepted: stuck.result.accepted,
      // Bounded: past what the same flow grows without the stuck reader, at most two send buffers.
      pass: wasCutOff && (secondHalfGrowth - Math.max(0, controlGrowth)) * MIB <= 2 * sendBufferBytes,
    };
  } finally {
    await closeAll(slow ? [healthy, slow] : [healthy]);
  }
}
