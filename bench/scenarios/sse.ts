// Scenario 8: fan-out over Server-Sent Events (GET /v1/events/stream): `n` streams of one tenant on
// one gateway, a burst of events published in one batch, and the time until every stream has every
// event; the same shape as the WebSocket fan-out (scenario 4), so the two transports compare.
import type { BenchContext, Usage } from '../context.ts';
import { batchBody } from '../payload.ts';
import { closeAllSse, connectManySse } from '../sse-subscriber.ts';
import { median, round } from '../stats.ts';

const MIB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let runs = 0;
const runId = () => `${process.pid}_${Date.now()}_sse${runs++}`;

async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

export interface SseFanOutRound {
  deliveries: number;
  expected: number;
  seconds: number;
  deliveries_per_s: number;
}

export interface SseFanOutResult {
  subscribers: number;
  events_per_round: number;
  connect_s: number;
  rss_before_mib: number;
  rss_connected_mib: number;
  rss_peak_mib: number;
  rss_per_connection_kib: number;
  deliveries_per_s: number;
  rounds: SseFanOutRound[];
  usage: Usage | undefined;
  /** Every stream got every event in every round. */
  pass: boolean;
}

export async function sseFanOut(ctx: BenchContext, n: number): Promise<SseFanOutResult> {
  const s = ctx.settings;
  const rounds: SseFanOutRound[] = [];
  const rssBefore = ctx.gatewayRssBytes();
  const t0 = performance.now();
  const subs = await connectManySse(ctx.gateway.url, ctx.gateway.key, n);
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
          body: body.replaceAll('"id":"evt_', `"id":"evt_sse${roundNo}_`),
        });
        const answer = (await res.json()) as { failed?: number };
        if (res.status !== 200 || answer.failed !== 0)
          throw new Error(`SSE fan-out batch refused: ${res.status} ${JSON.stringify(answer)}`);
        await waitFor(() => delivered() >= expected, 60_000);
        const last = Math.max(...subs.map((sub) => sub.lastEventAt));
        return { deliveries: delivered(), seconds: (last - start) / 1000 };
      });
      usage = measured.usage;
      rssPeak = Math.max(rssPeak, measured.usage.gateway_rss_peak_mib * MIB);
      const { deliveries, seconds } = measured.result;
      rounds.push({ deliveries, expected, seconds: round(seconds, 3), deliveries_per_s: round(deliveries / seconds, 0) });
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
      pass: rounds.every((r) => r.deliveries === r.expected),
    };
  } finally {
    await closeAllSse(subs);
    await sleep(500);
  }
}
