// `npm run bench` (or `node bench/run.ts [--quick] [--only=publish,batch,...] [--out=DIR]
// [--repeats=N] [--load-ms=MS] [--cpu-prof=DIR]`, the last writing a CPU profile of the gateway to DIR):
// starts its own nats-server and gateway process, runs the scenarios, prints a table and writes
// the results as JSON to bench/results/. Everything listens on and loads 127.0.0.1 only.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { BenchContext, FULL, QUICK } from './context.ts';
import { describeMachine } from './machine.ts';
import { type GatewayProcess, startBenchNats, startGatewayProcess } from './processes.ts';
import { type BenchReport, formatMachine, formatTable, type Row, writeReport } from './report.ts';
import { loadConfig } from '../src/config.ts';
import { httpCeiling, type PublishScenarioResult, publishBatch, publishSingle, type SideSummary } from './scenarios/publish.ts';
import { type EndToEndResult, endToEnd, fanOut, slowConsumer } from './scenarios/websocket.ts';
import { fanOutAgainstPeer } from './scenarios/fanout-peer.ts';
import { sseFanOut } from './scenarios/sse.ts';
import { webhookDeliveries } from './scenarios/webhooks.ts';

const SCENARIOS = ['ceiling', 'publish', 'batch', 'e2e', 'fanout', 'peer', 'slow', 'ssefanout', 'webhooks'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results') },
    repeats: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'load-ms': { type: 'string' },
  },
});

const settings = { ...(values.quick ? QUICK : FULL) };
if (values.repeats) settings.repeats = Math.max(1, Math.min(9, Number(values.repeats) || 1));
if (values['load-ms']) settings.loadMs = Math.max(500, Math.min(60_000, Number(values['load-ms']) || settings.loadMs));
const wanted = (values.only?.split(',') ?? SCENARIOS) as ScenarioName[];
for (const w of wanted) if (!SCENARIOS.includes(w)) throw new Error(`unknown scenario ${w}; one of ${SCENARIOS.join(', ')}`);

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a');

/**
 * The floor of one accepted event (issue #18): what a bare node:http server that reads and parses
 * the body and answers 202 costs a request (the null server, scenario 1) plus what a bare nats.js
 * process costs to publish the envelope to JetStream (the direct publisher, the bench process
 * itself: its CPU per publish). Measured in the same run as the gateway.
 */
interface Floor {
  http_us: number;
  publish_us: number;
  total_us: number;
}

function floorOf(single: PublishScenarioResult): Floor | undefined {
  const http = single.null_server?.gateway_cpu_us_per_event;
  const publish = single.direct.load_generator_cpu_us_per_event;
  if (http === undefined || !Number.isFinite(http) || !Number.isFinite(publish)) return undefined;
  return { http_us: http, publish_us: publish, total_us: http + publish };
}

function floorRow(label: string, r: PublishScenarioResult, floor: Floor | undefined, target: number): Row {
  const ratio = floor ? r.gateway.gateway_cpu_us_per_event / floor.total_us : Number.NaN;
  return {
    scenario: label,
    metric: 'gateway CPU µs/event vs floor (null server + nats.js publisher)',
    direct: floor ? `${fmt(floor.total_us, 1)} (${fmt(floor.http_us, 1)} + ${fmt(floor.publish_us, 1)})` : 'n/a',
    gateway: fmt(r.gateway.gateway_cpu_us_per_event, 1),
    ratio: Number.isFinite(ratio) ? `${fmt(ratio, 2)} x` : 'n/a',
    target: `<= ${target} x`,
    pass: Number.isFinite(ratio) ? ratio <= target && r.stored_as_counted : undefined,
  };
}

function publishRows(label: string, r: PublishScenarioResult): Row[] {
  return [
    {
      scenario: label,
      metric: 'events/s',
      direct: fmt(r.direct.events_per_s),
      gateway: fmt(r.gateway.events_per_s),
      ratio: `${fmt(r.ratio * 100, 1)} %`,
      target: '',
      pass: undefined,
    },
    {
      scenario: label,
      metric: 'CPU µs/event gateway, nats, load gen.',
      direct: `-, ${fmt(r.direct.nats_cpu_us_per_event)}, ${fmt(r.direct.load_generator_cpu_us_per_event)}`,
      gateway: `${fmt(r.gateway.gateway_cpu_us_per_event)}, ${fmt(r.gateway.nats_cpu_us_per_event)}, ${fmt(r.gateway.load_generator_cpu_us_per_event)}`,
      ratio: '',
      target: '',
      pass: undefined,
    },
    {
      scenario: label,
      metric: 'latency p50 / p99 (ms)',
      direct: `${fmt(r.direct.p50_ms, 2)} / ${fmt(r.direct.p99_ms, 2)}`,
      gateway: `${fmt(r.gateway.p50_ms, 2)} / ${fmt(r.gateway.p99_ms, 2)}`,
      ratio: '',
      target: '',
      pass: undefined,
    },
  ];
}

/**
 * Runs `run` with the two reference servers of bench/bare-bridge.ts beside the gateway (each idle
 * while another side is loaded), stopped afterwards whatever happens.
 */
async function withReferences<T>(natsUrl: string, run: (refs: { bare: GatewayProcess; null: GatewayProcess }) => Promise<T>): Promise<T> {
  const script = 'bench/bare-bridge.ts';
  const bare = await startGatewayProcess(natsUrl, {}, undefined, script);
  const nullServer = await startGatewayProcess(natsUrl, { BRIDGE_MODE: 'null' }, undefined, script).catch(async (err: unknown) => {
    await bare.stop();
    throw err;
  });
  try {
    return await run({ bare, null: nullServer });
  } finally {
    await Promise.all([bare.stop(), nullServer.stop()]);
  }
}

/** Scenario 3's reference rows: an HTTP round trip (null server), HTTP + JetStream (bare bridge), and the gateway beside them. */
function referenceLatencyRows(label: string, r: EndToEndResult): Row[] {
  const ms = (l: { p50: number; p99: number; p99_9: number }) => `${fmt(l.p50, 2)} / ${fmt(l.p99, 2)} / ${fmt(l.p99_9, 2)}`;
  const rows: Row[] = [];
  const nul = r.references?.null_server;
  const bare = r.references?.bare_bridge;
  if (nul)
    rows.push({
      scenario: label,
      metric: 'reference: null server POST→202 (one HTTP round trip), p50 / p99 / p99.9 (ms)',
      direct: '',
      gateway: ms(nul.post_ms),
      ratio: '',
      target: '',
      pass: undefined,
    });
  if (bare)
    rows.push(
      {
        scenario: label,
        metric: 'reference: bare node:http bridge POST→202 (HTTP + JetStream), p50 / p99 / p99.9 (ms)',
        direct: '',
        gateway: ms(bare.post_ms),
        ratio: '',
        target: '',
        pass: undefined,
      },
      {
        scenario: label,
        metric: 'bare bridge POST→202 minus publish→ack, p50 / p99 (ms): the floor of the row above',
        direct: '',
        gateway: `+${fmt(bare.post_ms.p50 - r.direct.ack_ms.p50, 2)} / +${fmt(bare.post_ms.p99 - r.direct.ack_ms.p99, 2)}`,
        ratio: '',
        target: '',
        pass: undefined,
      },
    );
  return rows;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const nats = await startBenchNats();
  let ctx: BenchContext | undefined;
  // Interrupted: stop the gateway and nats-server this run started rather than leave them running.
  const interrupted = () => {
    void Promise.allSettled([ctx?.close(), nats.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const machine = describeMachine(nats.version);
    log(formatMachine(machine).replaceAll('\n', '; '));
    ctx = await BenchContext.create(
      nats.server.url,
      nats.server.process.pid as number,
      // Webhooks (scenario 6) deliver to a receiver on 127.0.0.1 over plain http.
      () => startGatewayProcess(nats.server.url, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: 'true' }, values['cpu-prof']),
      settings,
    );

    ctx.natsWsUrl = nats.wsUrl;
    const scenarios: Record<string, unknown> = {};
    const rows: Row[] = [];
    let floor: Floor | undefined;
    for (const name of wanted) {
      log(`scenario ${name}`);
      if (name !== wanted[0]) await ctx.freshGateway();
      if (name === 'ceiling') {
        const r = await httpCeiling(ctx);
        scenarios[name] = r;
        rows.push({
          scenario: `0 reference: GET /healthz (${r.connections} in flight)`,
          metric: 'requests/s; CPU µs/request',
          direct: '',
          gateway: `${fmt(r.requests_per_s)}; ${fmt(r.gateway_cpu_us_per_request)}`,
          ratio: '',
          target: '',
          pass: undefined,
        });
      } else if (name === 'publish') {
        const r = await withReferences(nats.server.url, (refs) => publishSingle(ctx as BenchContext, { bare: refs.bare, null: refs.null }));
        scenarios[name] = r;
        rows.push(...publishRows(`1 single POST (${r.params.connections} in flight)`, r));
        floor = floorOf(r);
        rows.push(floorRow(`1 single POST (${r.params.connections} in flight)`, r, floor, 1.1));
        const atRate = r.null_server_at_gateway_rate;
        if (atRate && floor) {
          const total = atRate.gateway_cpu_us_per_event + floor.publish_us;
          rows.push({
            scenario: `1 single POST (${r.params.connections} in flight)`,
            metric: "the same, the null server held to the gateway's rate (its CPU per request at that load)",
            direct: `${fmt(total, 1)} (${fmt(atRate.gateway_cpu_us_per_event, 1)} at ${fmt(atRate.events_per_s)}/s + ${fmt(floor.publish_us, 1)})`,
            gateway: fmt(r.gateway.gateway_cpu_us_per_event, 1),
            ratio: `${fmt(r.gateway.gateway_cpu_us_per_event / total, 2)} x`,
            target: '',
            pass: undefined,
          });
        }
        const reference = (label: string, side: SideSummary | undefined, ratio: number | undefined, what: string): Row[] =>
          side && ratio !== undefined
            ? [
                {
                  scenario: `1 reference: ${label}`,
                  metric: `events/s; CPU µs/event ${what}, nats, load gen.`,
                  direct: '',
                  gateway: `${fmt(side.events_per_s)}; ${fmt(side.gateway_cpu_us_per_event)}, ${fmt(side.nats_cpu_us_per_event)}, ${fmt(side.load_generator_cpu_us_per_event)}`,
                  ratio: `${fmt(ratio * 100, 1)} %`,
                  target: '',
                  pass: undefined,
                },
              ]
            : [];
        rows.push(
          ...reference('bare node:http bridge', r.bare, r.bare_ratio, 'bridge'),
          ...reference('null server (no publish)', r.null_server, r.null_ratio, 'server'),
        );
      } else if (name === 'batch') {
        const r = await publishBatch(ctx);
        scenarios[name] = r;
        const label = `2 batch of ${r.params.events_per_request} (${r.params.events_in_flight} events in flight)`;
        rows.push(...publishRows(label, r));
        rows.push(floorRow(label, r, floor, 1.0));
      } else if (name === 'e2e') {
        const r = await withReferences(nats.server.url, (refs) => endToEnd(ctx as BenchContext, { nullServer: refs.null, bareBridge: refs.bare }));
        scenarios[name] = r;
        const label = `3 end to end at ${fmt(settings.e2eRate)}/s`;
        const ms = (l: typeof r.e2e_ms) => `${fmt(l.p50, 2)} / ${fmt(l.p99, 2)} / ${fmt(l.p99_9, 2)}`;
        rows.push(
          {
            scenario: label,
            metric: 'POST→WS p50 / p99 / p99.9 (ms)',
            direct: ms(r.direct.e2e_ms),
            gateway: ms(r.e2e_ms),
            ratio: '',
            target: `p99 <= ${r.target_p99_ms} ms`,
            pass: r.pass,
          },
          {
            scenario: label,
            metric: 'POST→202 p50 / p99 / p99.9 (ms)',
            direct: ms(r.direct.ack_ms),
            gateway: ms(r.post_ms),
            ratio: '',
            target: '',
            pass: undefined,
          },
          {
            scenario: label,
            metric: 'added by the gateway: POST→202 minus publish→ack, p50 / p99 (ms)',
            direct: '',
            gateway: `+${fmt(r.post_ms.p50 - r.direct.ack_ms.p50, 2)} / +${fmt(r.post_ms.p99 - r.direct.ack_ms.p99, 2)}`,
            ratio: '',
            target: 'p50 <= +0.25, p99 <= +1',
            pass: r.post_ms.p50 - r.direct.ack_ms.p50 <= 0.25 && r.post_ms.p99 - r.direct.ack_ms.p99 <= 1,
          },
          ...referenceLatencyRows(label, r),
          {
            scenario: label,
            metric: 'delivered / accepted',
            direct: `${fmt(r.direct.delivered)} / ${fmt(r.direct.accepted)}`,
            gateway: `${fmt(r.delivered)} / ${fmt(r.accepted)}`,
            ratio: '',
            target: '',
            pass: undefined,
          },
        );
      } else if (name === 'fanout') {
        const results = [];
        for (const n of settings.fanoutSubscribers) {
          log(`fan-out to ${n} subscribers`);
          if (n !== settings.fanoutSubscribers[0]) await ctx.freshGateway();
          const r = await fanOut(ctx, n);
          results.push(r);
          const label = `4 fan-out, ${fmt(n)} subscribers`;
          rows.push(
            {
              scenario: label,
              metric: 'deliveries/s',
              direct: '',
              gateway: fmt(r.deliveries_per_s),
              ratio: '',
              target: '',
              pass: undefined,
            },
            {
              scenario: label,
              metric: 'gateway RSS total (MiB), per conn (KiB)',
              direct: '',
              gateway: `${fmt(r.rss_peak_mib)}, ${fmt(r.rss_per_connection_kib, 1)}`,
              ratio: '',
              target: n === Math.max(...settings.fanoutSubscribers) ? '<= 1 GiB, every subscriber gets every event' : 'every subscriber gets every event',
              pass: r.pass,
            },
          );
        }
        scenarios[name] = results;
      } else if (name === 'peer') {
        const r = await fanOutAgainstPeer(ctx, settings.peerSubscribers, settings.peerBurstEvents, settings.peerRate, settings.peerLatencyMs);
        scenarios[name] = r;
        const label = `7 fan-out vs nats-server WebSocket, ${fmt(r.subscribers)} subscribers`;
        const ms = (l: typeof r.latency.gateway_ms) => `${fmt(l.p50, 2)} / ${fmt(l.p99, 2)}`;
        rows.push(
          {
            scenario: label,
            metric: `burst of ${fmt(r.burst_events)} events: deliveries/s`,
            direct: fmt(r.peer_deliveries_per_s),
            gateway: fmt(r.gateway_deliveries_per_s),
            ratio: `${fmt(r.ratio, 2)} x`,
            target: '>= 1.0 x',
            pass: r.pass_burst,
          },
          {
            scenario: label,
            metric: 'CPU µs/delivery: gateway; nats-server',
            direct: `-; ${fmt(r.peer_nats_cpu_us_per_delivery, 2)}`,
            gateway: `${fmt(r.gateway_cpu_us_per_delivery, 2)}; -`,
            ratio: '',
            target: '',
            pass: undefined,
          },
          {
            scenario: label,
            metric: `publish→delivery at ${fmt(r.latency.rate_per_s)} events/s, p50 / p99 (ms)`,
            direct: ms(r.latency.peer_ms),
            gateway: ms(r.latency.gateway_ms),
            ratio: '',
            target: 'p99 <= peer',
            pass: r.pass_latency,
          },
        );
      } else if (name === 'slow') {
        const sendBuffer = loadConfig({ ...process.env }).WS_SEND_BUFFER_BYTES;
        const r = await slowConsumer(ctx, sendBuffer);
        scenarios[name] = r;
        const label = `5 slow consumer at ${fmt(settings.slowRate)}/s`;
        rows.push(
          {
            scenario: label,
            metric: 'gateway RSS max (MiB) without → with stuck reader',
            direct: '',
            gateway: `${fmt(r.control_rss_max_mib, 1)} → ${fmt(r.rss_max_mib, 1)}`,
            ratio: '',
            target: '',
            pass: undefined,
          },
          {
            scenario: label,
            metric: 'RSS growth, 2nd half of flow, with the stuck reader (without it) (MiB); undelivered (MiB)',
            direct: '',
            gateway: `${fmt(r.second_half_growth_mib, 1)} (${fmt(r.control_second_half_growth_mib, 1)}); ${fmt(r.undelivered_bytes / 2 ** 20, 1)}`,
            ratio: '',
            target: `difference <= 2 x ${fmt(sendBuffer / 2 ** 20, 1)} MiB buffer`,
            pass: r.pass,
          },
          {
            scenario: label,
            metric: 'slow reader cut off at; close code',
            direct: '',
            gateway: `${r.slow_cut_off_after_s ?? '-'} s; ${r.slow_close_code ?? 'open'}`,
            ratio: '',
            target: 'cut off',
            pass: undefined,
          },
        );
      } else if (name === 'ssefanout') {
        const results = [];
        for (const n of settings.sseFanoutSubscribers) {
          log(`SSE fan-out to ${n} streams`);
          if (n !== settings.sseFanoutSubscribers[0]) await ctx.freshGateway();
          const r = await sseFanOut(ctx, n);
          results.push(r);
          const label = `8 SSE fan-out, ${fmt(n)} streams`;
          rows.push(
            {
              scenario: label,
              metric: 'deliveries/s',
              direct: '',
              gateway: fmt(r.deliveries_per_s),
              ratio: '',
              target: 'every stream gets every event',
              pass: r.pass,
            },
            {
              scenario: label,
              metric: 'gateway RSS total (MiB), per stream (KiB)',
              direct: '',
              gateway: `${fmt(r.rss_peak_mib)}, ${fmt(r.rss_per_connection_kib, 1)}`,
              ratio: '',
              target: '',
              pass: undefined,
            },
          );
        }
        scenarios[name] = results;
      } else if (name === 'webhooks') {
        const r = await webhookDeliveries(ctx);
        scenarios[name] = r;
        const label = `6 webhook, ${fmt(r.events)} events (${r.in_flight} in flight); direct: a bare HTTP client`;
        rows.push(
          {
            scenario: label,
            metric: 'deliveries/s to a local receiver',
            direct: fmt(r.bare.deliveries_per_s),
            gateway: fmt(r.webhook.deliveries_per_s),
            ratio: `${fmt(r.ratio * 100, 1)} %`,
            target: '>= 70 %, every event delivered',
            pass: r.ratio >= 0.7 && r.all_delivered,
          },
          {
            scenario: label,
            metric: 'sender CPU µs/delivery (median of the repeats): bare client; gateway',
            direct: fmt(r.bare.cpu_us_per_delivery ?? Number.NaN, 1),
            gateway: fmt(r.webhook.cpu_us_per_delivery ?? Number.NaN, 1),
            ratio: `${fmt((r.bare.cpu_us_per_delivery ?? Number.NaN) / (r.webhook.cpu_us_per_delivery ?? Number.NaN), 2)} x`,
            target: '',
            pass: undefined,
          },
          {
            scenario: label,
            metric: 'CPU % sender (gateway / bare client), nats, bench (receiver)',
            direct: `${fmt(r.bare.cpu_percent ?? Number.NaN)}, -, -`,
            gateway: r.webhook.usage
              ? `${fmt(r.webhook.usage.cpu_percent.gateway)}, ${fmt(r.webhook.usage.cpu_percent.nats)}, ${fmt(r.webhook.usage.cpu_percent.load_generator)}`
              : '',
            ratio: '',
            target: '',
            pass: undefined,
          },
        );
      }
    }

    const report: BenchReport = { started_at: startedAt, mode: settings.quick ? 'quick' : 'full', machine, settings, scenarios, rows };
    const file = writeReport(values.out as string, report);
    process.stdout.write(`\n${formatMachine(machine)}\n\n${formatTable(rows)}\n\nresults: ${file}\n`);
  } finally {
    await ctx?.close();
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
