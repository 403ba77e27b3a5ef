// The standard-library Python client (examples/python/), run with python3 against a live gateway:
// what a non-Node service sees, checked against what JetStream really stored.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

const EXAMPLE_DIR = join(PROJECT_ROOT, 'examples', 'python');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function python(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'python3',
      args,
      { cwd: EXAMPLE_DIR, env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The `key=value` fields of the first output line starting with `label`. */
function fields(stdout: string, label: string): Record<string, string> {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label} `));
  if (!line) return {};
  return Object.fromEntries(
    line
      .slice(label.length + 1)
      .split(' ')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

t.test('the Python example publishes, batch-publishes and handles problems', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const run = await python(['publish_example.py'], { GATEWAY_URL: gw.url, GATEWAY_API_KEY: KEYS.a });
  t.equal(run.code, 0, `exit code; stderr: ${run.stderr}\nstdout: ${run.stdout}`);

  const catalogue = await fetch(`${gw.url}/v1/event-types`, { headers: { authorization: `Bearer ${KEYS.a}` } });
  const { types } = (await catalogue.json()) as { types: unknown[] };
  t.same(fields(run.stdout, 'catalogue'), { types: String(types.length), 'order.created': '1.0' });
  const published = fields(run.stdout, 'published');
  t.match(published, { id: /^evt_[0-9a-f]{32}$/, duplicate: 'False' });
  t.same(fields(run.stdout, 'republished'), { ...published, duplicate: 'True' });
  const batch = fields(run.stdout, 'batch');
  t.equal(batch.failed, '1');
  t.same(fields(run.stdout, 'batch-rejected'), { index: '1', code: 'GW_VALIDATION_FAILED', pointers: '/data/order_id' });
  t.match(run.stdout, /^problem status=422 code=GW_VALIDATION_FAILED pointers=\/data\/order_id$/m);
  t.match(run.stdout, /^problem status=401 code=GW_UNAUTHORIZED request_id=[0-9a-f-]{36}$/m);

  // JetStream holds exactly the three accepted events, at the seqs the client printed.
  const stored = await storedEvents(nats.url, '>');
  t.same(
    stored.map((s) => s.seq),
    [Number(published.seq), ...(batch.stored ?? '').split(',').map(Number)],
  );
  t.same(
    stored.map((s) => (s.event as { type: string }).type),
    ['order.created', 'order.validated', 'order.processing'],
  );
  for (const s of stored) {
    t.match(s.event, { tenant_id: 'ten_a', source: 'python-example', metadata: { correlation_id: 'req_py_1' } });
  }
  t.match(stored[0]?.event, { id: published.id });
});

t.test('the Python client reports an unavailable bus as a 503 problem with Retry-After', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { PUBLISH_TIMEOUT_MS: 500, RETRY_AFTER_SECONDS: 7 }, { listen: true });
  await nats.stop();
  const script = [
    'import sys',
    'from gateway_client import GatewayClient, GatewayProblem',
    'try:',
    '    GatewayClient(sys.argv[1], sys.argv[2]).publish_event({"type": "order.created", "source": "s", "data": {"order_id": "o"}}, retries=0)',
    '    sys.exit(3)',
    'except GatewayProblem as p:',
    '    print(p.status, p.code, p.retry_after)',
  ].join('\n');
  const run = await python(['-c', script, gw.url, KEYS.a]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout.trim(), /^503 GW_(NATS_UNAVAILABLE|PUBLISH_TIMEOUT) 7$/);
});
