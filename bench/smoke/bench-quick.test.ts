// `npm run bench:quick` end to end: the harness starts its own nats-server and gateway process,
// runs every scenario for a moment, prints the table and writes the JSON. Checks the shape and
// that what was measured really happened (events stored, subscribers served), never the speed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);

t.test('the quick bench prints the machine and a table, and writes matching JSON', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gw-bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const { stdout } = await run(process.execPath, ['bench/run.ts', '--quick', `--out=${out}`], {
    cwd: join(import.meta.dirname, '..', '..'),
    timeout: 370_000, // under the 400 s `npm run bench:smoke` gives a test file
    maxBuffer: 16 * 1048576,
  });

  t.match(stdout, /^machine: \d+ x .+, [\d.]+ GiB/m, 'names the machine');
  t.match(stdout, /^versions: node v\d+\.\d+\.\d+, nats-server \d+\.\d+\.\d+/m, 'names the versions');
  t.match(stdout, /^\| scenario +\| metric +\| direct JetStream +\| gateway +\| ratio +\| target/m, 'prints the table header');
  for (const label of ['1 single POST', '2 batch of 100']) t.match(stdout, new RegExp(`^\\| ${label}.*\\| events/s`, 'm'), label);

  const files = readdirSync(out).filter((f) => f.endsWith('.json'));
  t.equal(files.length, 1, 'one JSON result file');
  const report = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8'));
  t.equal(report.mode, 'quick');
  t.ok(report.machine.cpu_count >= 1 && typeof report.machine.cpu_model === 'string', 'machine in the JSON');
  t.match(report.machine.nats_server, /^\d+\.\d+\.\d+$/);

  for (const name of ['publish', 'batch']) {
    const s = report.scenarios[name];
    t.ok(s, `${name} scenario present`);
    t.ok(s.direct.events_per_s > 0 && s.gateway.events_per_s > 0, `${name}: both sides published`);
    t.ok(s.direct.p99_ms >= s.direct.p50_ms, `${name}: direct percentiles ordered`);
    t.ok(s.gateway.p99_ms >= s.gateway.p50_ms, `${name}: gateway percentiles ordered`);
    t.equal(s.ratio, Math.round((s.gateway.events_per_s / s.direct.events_per_s) * 1000) / 1000, `${name}: ratio is gateway/direct`);
    t.ok(s.stored_as_counted, `${name}: every counted event is in the stream (${s.stored} stored, ${s.counted} counted)`);
    t.ok(
      s.gateway.runs.every((r: { errors: number }) => r.errors === 0),
      `${name}: no failed requests`,
    );
  }

  t.ok(report.scenarios.ceiling.requests_per_s > 0, 'reference: GET /healthz was measured');
  const bare = report.scenarios.publish.bare;
  t.ok(bare?.events_per_s > 0, 'reference: the bare bridge published');
  t.ok(
    bare.runs.every((r: { errors: number }) => r.errors === 0),
    'reference: no failed requests to the bare bridge',
  );
  t.equal(
    report.scenarios.publish.bare_ratio,
    Math.round((bare.events_per_s / report.scenarios.publish.direct.events_per_s) * 1000) / 1000,
    'reference: bare ratio is bare/direct',
  );
  t.match(stdout, /^\| 1 reference: bare node:http bridge/m, 'reference row printed');
  const nullServer = report.scenarios.publish.null_server;
  t.ok(nullServer?.events_per_s > 0, 'reference: the null server answered');
  t.equal(nullServer.nats_cpu_us_per_event < bare.nats_cpu_us_per_event, true, 'reference: the null server left nats-server alone');
  t.match(stdout, /^\| 1 reference: null server/m, 'null server row printed');

  const e2e = report.scenarios.e2e;
  t.ok(e2e.accepted > 0, 'end to end: events were accepted');
  t.equal(e2e.delivered, e2e.accepted, 'end to end: every accepted event reached the subscriber');
  t.ok(e2e.direct.accepted > 0 && e2e.direct.delivered === e2e.direct.accepted, 'end to end baseline: every direct publish was received');
  t.ok(e2e.e2e_ms.p99 >= e2e.e2e_ms.p50 && e2e.e2e_ms.p99_9 >= e2e.e2e_ms.p99, 'end to end: percentiles ordered');

  t.equal(report.scenarios.fanout.length, report.settings.fanoutSubscribers.length, 'one fan-out result per subscriber count');
  for (const f of report.scenarios.fanout) {
    for (const r of f.rounds) t.equal(r.deliveries, r.expected, `fan-out to ${f.subscribers}: every subscriber got every event`);
    t.ok(f.rss_peak_mib > 0, `fan-out to ${f.subscribers}: gateway RSS sampled`);
  }

  const peer = report.scenarios.peer;
  t.ok(peer, 'fan-out against the nats-server WebSocket peer was measured');
  for (const r of peer.rounds) t.equal(r.deliveries, r.expected, `peer scenario, ${r.side}: every subscriber got every event`);
  t.ok(peer.rounds.some((r: { side: string }) => r.side === 'peer') && peer.rounds.some((r: { side: string }) => r.side === 'gateway'), 'both sides ran');
  t.ok(peer.latency.gateway_ms.count > 0 && peer.latency.peer_ms.count > 0, 'paced fan-out latency sampled on both sides');
  t.equal(peer.ratio, Math.round((peer.gateway_deliveries_per_s / peer.peer_deliveries_per_s) * 1000) / 1000, 'peer ratio is gateway/peer');
  t.match(stdout, /^\| 7 fan-out vs nats-server WebSocket.*\| burst of \d+ events: deliveries\/s/m, 'peer row printed');
  t.match(stdout, /^\| 1 single POST.*gateway CPU µs\/event vs floor .*\| [\d.]+ x /m, 'single POST against its floor, as a ratio');
  t.match(stdout, /^\| 2 batch of 100.*gateway CPU µs\/event vs floor .*\| [\d.]+ x /m, 'batch against the same floor');
  t.match(stdout, /^\| 3 end to end.*added by the gateway/m, 'latency added by the gateway printed');
  t.equal(report.scenarios.ssefanout.length, report.settings.sseFanoutSubscribers.length, 'one SSE fan-out result per stream count');
  for (const f of report.scenarios.ssefanout) {
    for (const r of f.rounds) t.equal(r.deliveries, r.expected, `SSE fan-out to ${f.subscribers}: every stream got every event`);
    t.ok(f.deliveries_per_s > 0, `SSE fan-out to ${f.subscribers}: deliveries/s measured`);
  }

  const slow = report.scenarios.slow;
  t.equal(slow.healthy_delivered, slow.accepted, 'slow consumer: a reader that keeps reading gets every event');
  t.ok(slow.rss_mib.length >= 2 && slow.rss_mib.every((m: number) => m > 0), 'slow consumer: RSS sampled over time');

  const webhooks = report.scenarios.webhooks;
  t.ok(webhooks.all_delivered, 'webhooks: every stored event reached the receiver');
  t.ok(webhooks.webhook.deliveries_per_s > 0 && webhooks.bare.deliveries_per_s > 0, 'webhooks: both sides delivered');
  t.equal(
    webhooks.ratio,
    Math.round((webhooks.webhook.deliveries_per_s / webhooks.bare.deliveries_per_s) * 1000) / 1000,
    'webhooks: ratio',
  );

  for (const label of ['0 reference', '3 end to end', '4 fan-out', '5 slow consumer', '6 webhook', '7 fan-out vs nats-server', '8 SSE fan-out'])
    t.match(stdout, new RegExp(`^\\| ${label}`, 'm'), label);
  t.equal(report.rows.length > 0, true, 'table rows in the JSON');
});
