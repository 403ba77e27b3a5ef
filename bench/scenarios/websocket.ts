// Scenarios 3-5, over the WebSocket endpoint (GET /v1/ws): end-to-end latency from POST to
// delivery at a fixed rate, fan-out to thousands of subscribers on one gateway, and a subscriber
// that stops reading while events flow. Every load is bounded in count and time.
import type { BenchContext, Usage } from '../context.ts';
import { publishAtRate } from '../rate-publisher.ts';
import { liveSubjectPrefix } from '../../src/subscriptions/subscription-hub.ts';
import { directPublishAtRate } from '../direct-publisher.ts';
import { BENCH_TENANT, batchBody } from '../payload.ts';
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
  target_p99_ms: number;
  pass: boolean;
  usage: Usage;
}

const pick = (l: { p50: number; p99: number; p99_9: number; max: number }) => ({
  p50: round(l.p50, 2),
  p99: round(l.p99, 2),
  p99_9: round(l.p99_9, 2),
  max: round(l.max, 2),
});

const ENVELOPE_ID_AT = Buffer.from('{"id":"');

/** Scenario 3's baseline: the same rate published straight to JetStream, read from the republish subjects. */
async function directEndToEnd(ctx: BenchContext): Promise<EndToEndResult['direct']> {
  const s = ctx.settings;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const sub = ctx.nc.subscribe(`${liveSubjectPrefix('events')}.${BENCH_TENANT}.>`, {
    callback: (err, msg) => {
      if (err) return;
      const at = performance.now();
      const data = msg.data;
      // The stored envelope starts with its id (the example's first field).
      if (!Buffer.from(data.buffer, data.byteOffset, ENVELOPE_ID_AT.length).equals(ENVELOPE_ID_AT)) return;
      const id = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString(
        'latin1',
        ENVELOPE_ID_AT.length,
        data.indexOf(0x22, ENVELOPE_ID_AT.length),
      );
      const t0 = sentAt.get(id);
      if (t0 !== undefined) {
        latencies.push(at - t0);
        sentAt.delete(id);
      }
    },
  });
  try {
    await ctx.nc.flush();
    const r = await directPublishAtRate({
      natsUrl: ctx.natsUrl,
      perSecond: s.e2eRate,
      durationMs: s.e2eMs,
      idPrefix: `evt_e2ed_${runId()}`,
      onSend: (id, at) => sentAt.set(id, at),
    });
    await waitFor(() => latencies.length >= r.accepted, 5_000);
    return {
      accepted: r.accepted,
      delivered: latencies.length,
      e2e_ms: pick(latencySummary(latencies)),
      ack_ms: pick(latencySummary(r.ackLatencies)),
    };
  } finally {
    sub.unsubscribe();
  }
}

const ID_AT = Buffer.from('"event":{"id":"');

/** The event id of an event frame: the envelope is embedded as stored, `id` first. */
function frameEventId(frame: Buffer): string | undefined {
  const from = frame.indexOf(ID_AT);
  if (from < 0) return undefined;
  return frame.toString('latin1', from + ID_AT.length, frame.indexOf(0x22, from + ID_AT.length));
}

/**
 * Scenario 3: a fixed rate of single POSTs, one subscriber to every type, latency per event;
 * after the same flow published straight to JetStream.
 */
export async function endToEnd(ctx: BenchContext): Promise<EndToEndResult> {
  const s = ctx.settings;
  const direct = await directEndToEnd(ctx);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const sub = await connectSubscriber(ctx.gateway.url, ctx.gateway.key, {
    onEvent: (frame, at) => {
      const id = frameEventId(frame);
      const t0 = id === undefined ? undefined : sentAt.get(id);
      if (t0 !== undefined) {
        latencies.push(at - t0);
        sentAt.delete(id as string);
      }
    },
  });
  try {
    const prefix = `evt_e2e_${runId()}`;
    const { result, usage } = await ctx.measure(async () => {
      const r = await publishAtRate({
        url: ctx.gateway.url,
        key: ctx.gateway.key,
        perSecond: s.e2eRate,
        durationMs: s.e2eMs,
        idPrefix: prefix,
        onSend: (id, at) => sentAt.set(id, at),
      });
      await waitFor(() => latencies.length >= r.accepted, 5_000);
      return r;
    });
    const e2e = latencySummary(latencies);
    const post = latencySummary(result.postLatencies);
    return {
      rate_per_s: round(result.sent / result.seconds, 0),
      duration_s: round(result.seconds, 1),
      sent: result.sent,
      accepted: result.accepted,
      delivered: latencies.length,
      e2e_ms: pick(e2e),
      post_ms: pick(post),
      direct,
      target_p99_ms: 10,
      pass: e2e.p99 <= 10 && latencies.length === result.accepted && result.failed === 0,
      usage,
    };
  } finally {
    await closeAll([sub]);
  }
}

export interface FanOutRound {
  deliveries: number;
  expected: number;
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

/** Scenario 4: `n` subscribers; events published in one batch; time until all have them all. */
export async function fanOut(ctx: BenchContext, n: number): Promise<FanOutResult> {
  const s = ctx.settings;
  const rounds: FanOutRound[] = [];
  const rssBefore = ctx.gatewayRssBytes();
  const t0 = performance.now();
  const subs = await connectMany(ctx.gateway.url, ctx.gateway.key, n);
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
          body: body.replaceAll('"id":"evt_', `"id":"evt_r${roundNo}_`),
        });
        const answer = (await res.json()) as { failed?: number };
        if (res.status !== 200 || answer.failed !== 0) throw new Error(`fan-out batch refused: ${res.status} ${JSON.stringify(answer)}`);
        await waitFor(() => delivered() >= expected, 60_000);
        const last = Math.max(...subs.map((sub) => sub.lastEventAt));
        return { deliveries: delivered(), seconds: (last - start) / 1000 };
      });
      usage = measured.usage;
      rssPeak = Math.max(rssPeak, measured.usage.gateway_rss_peak_mib * MIB);
      const { deliveries, seconds } = measured.result;
      rounds.push({ deliveries, expected, seconds: round(seconds, 3), deliveries_per_s: round(deliveries / seconds, 0) });
    }
    const rssPeakAll = Math.max(rssPeak, rssConnected);
    return {
      subscribers: n,
      events_per_round: s.fanoutEvents,
      connect_s: round(connectS, 1),
      rss_before_mib: round(rssBefore / MIB, 1),
      rss_connected_mib: round(rssConnected / MIB, 1),
      rss_peak_mib: round(rssPeakAll / MIB, 1),
      rss_per_connection_kib: round((rssConnected - rssBefore) / 1024 / n, 1),
      deliveries_per_s: median(rounds.map((r) => r.deliveries_per_s)),
      rounds,
      usage,
      target_rss_mib: 1024,
      pass: rssPeakAll <= 1024 * MIB && rounds.every((r) => r.deliveries === r.expected),
    };
  } finally {
    await closeAll(subs);
    await sleep(500);
  }
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
   * How the connection of the reader that stopped reading ended, seen once it reads again: 4010
   * when the gateway's close frame got through, 1006 when the gateway gave up waiting for the
   * closing handshake (ws's 30 s close timeout) and dropped the connection first.
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
  /** Bounded: the slow reader was cut off, and it added less than 2 send buffers + 16 MiB of RSS. */
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
      slow_close_code: closed?.code,
      slow_cut_off_after_s: cutOffS === undefined ? undefined : round(cutOffS, 1),
      slow_cut_off: wasCutOff,
      slow_events_after_stop: slowGot,
      healthy_delivered: stuck.healthyDelivered,
      accepted: stuck.result.accepted,
      pass: wasCutOff && added * MIB <= 2 * sendBufferBytes + 16 * MIB,
    };
  } finally {
    await closeAll(slow ? [healthy, slow] : [healthy]);
  }
}
