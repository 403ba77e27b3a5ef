// The Python client's live tail over Server-Sent Events (clients/python, standard library only),
// run with python3 against a live gateway by test/python/tail_flow.py: events in order with type
// patterns and a content filter, then a gateway restart on the same address in the middle, after
// which it resumes with Last-Event-ID: nothing lost, nothing twice. A refused key raises the problem.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway, type TestGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const SCRIPT = join(PROJECT_ROOT, 'test', 'python', 'tail_flow.py');
const env = { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: join(PROJECT_ROOT, 'clients', 'python') };

interface Line {
  step: string;
  id?: number;
  type?: string;
  order?: string;
  closes?: string[];
  status?: number;
  code?: string;
}

async function publish(app: TestGateway['app'], orderId: string, source = 'py-tail'): Promise<number> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: { type: 'order.created', source, data: { order_id: orderId } },
  });
  if (res.statusCode !== 202) throw new Error(`publish: ${res.statusCode} ${res.body}`);
  return (res.json() as { seq: number }).seq;
}

function follow(t: Test, child: ChildProcess): { lines: Line[]; stderr: () => string } {
  const lines: Line[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) lines.push(JSON.parse(line) as Line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  t.teardown(() => child.kill());
  return { lines, stderr: () => stderr };
}

t.test('tail() follows the stream and resumes across a gateway restart with Last-Event-ID', async (t) => {
  const nats = await startNats(t);
  const gw1 = await startGateway(t, nats.url, {}, { listen: true });
  const port = Number(new URL(gw1.url).port);
  const child = spawn('python3', [SCRIPT, gw1.url, KEYS.aSubscribe, 'o-live'], { env, cwd: PROJECT_ROOT });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const out = follow(t, child);
  const events = () => out.lines.filter((l) => l.step === 'event');

  // The stream opens when the script runs: publish until the first event shows up.
  const first: number[] = [];
  await eventually(
    'the tail to print a first event',
    async () => {
      if (events().length === 0) first.push(await publish(gw1.app, `o${first.length + 1}`));
      return events().length;
    },
    (n) => n >= 1,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const second = await publish(gw1.app, 'o-second');
  await publish(gw1.app, 'o-filtered', 'someone-else'); // the content filter drops it
  await eventually('the second event', () => events().some((e) => e.id === second), Boolean, { timeoutMs: 15_000 });
  const before = events().map((e) => e.id as number);

  await gw1.app.close(); // the stream ends with `event: close` (shutting_down)
  const gw2 = await startGateway(t, nats.url);
  const missed = [await publish(gw2.app, 'o-missed-1'), await publish(gw2.app, 'o-missed-2')];
  await gw2.app.listen({ host: '127.0.0.1', port });
  const live = await publish(gw2.app, 'o-live');

  t.equal(await exited, 0, out.stderr());
  const ids = events().map((e) => e.id);
  t.same(ids, [...before, ...missed, live], 'each event once, in order, across the restart');
  t.ok(
    before.slice(0, -1).every((id) => first.includes(id)),
    'before the restart: what was published while it streamed',
  );
  t.ok(
    events().every((e) => e.type === 'order.created'),
    'the type of each event',
  );
  t.same(events().at(-1)?.closes, ['shutting_down'], 'the close event was seen');
  t.notOk(
    events().some((e) => e.order === 'o-filtered'),
    'filtered out',
  );
});

t.test('tail() raises the problem of a refused key', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('python3', [SCRIPT, gw.url, KEYS.aRead, 'never'], { env, cwd: PROJECT_ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /"step": "problem", "status": 403, "code": "GW_FORBIDDEN_SCOPE"/);
});
