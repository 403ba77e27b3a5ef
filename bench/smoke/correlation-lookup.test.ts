// `npm run bench:correlation` end to end at a tiny size: it starts its own nats-server, fills two
// stages, looks every correlation size up through the gateway (the bench itself fails when a lookup
// answers the wrong events), runs the naive scan, prints the table and writes matching JSON.
// Checks the shape and that the measurements happened, never the speed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);

t.test('the correlation bench measures every size at every stage and writes matching JSON', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'gw-bench-correlation-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  // The first stage must hold twice the 1,111 events of the target correlations.
  const { stdout } = await run(
    process.execPath,
    ['bench/correlation-lookup.ts', '--quick', '--stages=2300,3000', '--repeats=1', `--out=${out}`],
    { cwd: join(import.meta.dirname, '..', '..'), timeout: 150_000, maxBuffer: 16 * 1048576 },
  );

  t.match(stdout, /^machine: \d+ × .+, [\d.]+ GiB, node v\d+\.\d+\.\d+, nats-server \d+\.\d+\.\d+/m, 'names the machine and versions');
  t.match(stdout, /^\| stream events \| correlation size \| lookups \| first lookup ms \| median ms/m, 'prints the table header');

  const files = readdirSync(out).filter((f) => f.startsWith('correlation-lookup-quick-') && f.endsWith('.json'));
  t.equal(files.length, 1, 'one JSON result file');
  const report = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as {
    stages: number[];
    machine: { cpu_count: number; nats_server: string };
    fills: { to: number; events_per_second: number }[];
    rows: {
      stream_events: number;
      correlation_size: number;
      lookups: number;
      median_ms: number;
      p95_ms: number;
      naive_scan_ms: number;
      naive_scanned: number;
    }[];
  };
  t.same(report.stages, [2300, 3000]);
  t.ok(report.machine.cpu_count >= 1);
  t.match(report.machine.nats_server, /^\d+\.\d+\.\d+$/);
  t.same(
    report.fills.map((f) => f.to),
    [2300, 3000],
  );
  t.ok(report.fills.every((f) => f.events_per_second > 0));
  t.same(
    report.rows.map((r) => [r.stream_events, r.correlation_size]),
    [2300, 3000].flatMap((n) => [1, 10, 100, 1000].map((size) => [n, size])),
    'a row per stage and size',
  );
  for (const r of report.rows) {
    t.equal(r.lookups, 1, `${r.stream_events}/${r.correlation_size}: one timed lookup`);
    t.ok(r.median_ms > 0 && r.p95_ms >= r.median_ms, `${r.stream_events}/${r.correlation_size}: times ordered`);
    // The tenant holds about 90 % of the stream; the naive scan reads all of it.
    t.ok(r.naive_scanned > r.stream_events * 0.8 && r.naive_scanned < r.stream_events, `${r.stream_events}: naive scan read the tenant`);
    t.ok(r.naive_scan_ms > 0);
  }
});
