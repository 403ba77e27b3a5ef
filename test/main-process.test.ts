// The gateway as `npm start` runs it: dev mode, an embedded nats-server, graceful SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { spawnGateway } from './helpers/child-gateway.ts';
import { sampleEvent } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';

interface Started {
  child: ChildProcess;
  url: string;
  key: string;
  natsUrl: string;
  natsPid: number;
  lines: string[];
}

/** A running nats-server (a zombie awaiting its reaper has an empty command line). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server');
  } catch {
    return false;
  }
};

/** Teardown after a failure too: the gateway and, since SIGKILL orphans it, its nats-server. */
function killAll(started: Started): void {
  started.child.kill('SIGKILL');
  if (started.natsPid && alive(started.natsPid)) process.kill(started.natsPid, 'SIGKILL');
}

async function startMain(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: PROJECT_ROOT,
    // A short drain period after SIGTERM (test/shutdown.test.ts tests the drain itself).
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', NATS_URL: '', API_KEYS_FILE: '', SHUTDOWN_DRAIN_MS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${lines.join('\n')}`)), 30_000);
    let key = '';
    let natsUrl = '';
    let natsPid = 0;
    createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      key ||= /export KEY=(\S+)/.exec(line)?.[1] ?? '';
      natsUrl ||= /"url":"(nats:\/\/127\.0\.0\.1:\d+)"/.exec(line)?.[1] ?? '';
      natsPid ||= Number(/"nats_pid":(\d+)/.exec(line)?.[1] ?? 0);
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (listening?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: listening[1], key, natsUrl, natsPid, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${lines.join('\n')}`)));
  });
}

t.test('npm start: dev mode with an embedded nats-server, publish, graceful SIGTERM', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const gw = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: '' });
  t.teardown(() => killAll(gw));
  t.match(gw.key, /^gw_dev_/, 'prints a demo key');
  t.match(gw.natsUrl, /^nats:\/\/127\.0\.0\.1:\d+$/, 'started an embedded nats-server on loopback');

  const publish = (key: string) =>
    fetch(`${gw.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleEvent()),
    });
  const ok = await publish(gw.key);
  t.equal(ok.status, 202);
  t.match(await ok.json(), { seq: 1, stream: 'EVENTS' });
  t.equal((await publish('wrong')).status, 401);
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200);
  t.notOk(
    gw.lines.some((l) => l.includes(gw.key) && !l.includes('export KEY') && !l.includes('API key')),
    'the key is not logged elsewhere',
  );

  const exited = new Promise<number | null>((resolve) => gw.child.once('exit', (code) => resolve(code)));
  gw.child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 after SIGTERM');
  const port = Number(gw.natsUrl.split(':').pop());
  const stillUp = await fetch(`http://127.0.0.1:${port}`).then(
    () => true,
    () => false,
  );
  t.notOk(stillUp, 'the embedded nats-server stopped with it');

  // The data survives: a restart on the same data dir continues the stream.
  const again = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: 'gw_dev_fixed_key' });
  t.teardown(() => killAll(again));
  t.equal(again.key, 'gw_dev_fixed_key', 'DEV_API_KEY fixes the demo key');
  const next = await publish.call(null, 'gw_dev_fixed_key').catch(() => undefined);
  t.notOk(next, 'the old URL is gone');
  const res = await fetch(`${again.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: 'Bearer gw_dev_fixed_key', 'content-type': 'application/json' },
    body: JSON.stringify(sampleEvent()),
  });
  t.match(await res.json(), { seq: 2 }, 'the stream kept the first event');
  const stopped = new Promise<number | null>((resolve) => again.child.once('exit', (code) => resolve(code)));
  again.child.kill('SIGTERM');
  t.equal(await stopped, 0);
});

t.test('a bad configuration stops the start with a message per bad value', async (t) => {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: 'x', STREAM_MAX_AGE: 'forever' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 2);
  t.match(stderr, /PORT="x"/);
  t.match(stderr, /STREAM_MAX_AGE="forever"/);
});

t.test('SIGTERM finishes in-flight publishes: every 202 is in the stream after a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const key = 'gw_dev_sigterm_key';
  // In-flight publishes finish within milliseconds; the grace period then only cuts the clients'
  // idle keep-alive connections, which the default 10 s would wait for.
  const gw = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: key, SHUTDOWN_TIMEOUT_MS: '2000' });
  t.teardown(() => killAll(gw));
  const exited = new Promise<number | null>((resolve) => gw.child.once('exit', (code) => resolve(code)));

  const publishOne = async (id: string) => {
    try {
      const res = await fetch(`${gw.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(sampleEvent({ id })),
      });
      const body = (await res.json()) as { code?: string };
      return { id, status: res.status, code: body.code };
    } catch {
      return { id, status: 0, code: 'connection refused' };
    }
  };
  // 40 publishes in flight; SIGTERM as soon as the first is answered; then 20 more.
  const first = Array.from({ length: 40 }, (_, i) => publishOne(`evt_term_${i}`));
  await Promise.race(first);
  gw.child.kill('SIGTERM');
  const late = Array.from({ length: 20 }, (_, i) => publishOne(`evt_late_${i}`));
  const outcomes = await Promise.all([...first, ...late]);
  t.equal(await exited, 0, 'exited cleanly');
  for (const o of outcomes) {
    t.ok(o.status === 202 || o.status === 0 || (o.status === 503 && o.code === 'GW_SHUTTING_DOWN'), `${o.id}: ${o.status} ${o.code ?? ''}`);
  }
  const acked = outcomes.filter((o) => o.status === 202).map((o) => o.id);
  t.ok(acked.length > 0, `${acked.length} acknowledged before the stop`);

  const again = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: key, SHUTDOWN_TIMEOUT_MS: '2000' });
  t.teardown(() => killAll(again));
  // Republishing every id: the acknowledged ones must come back as duplicates (already stored).
  for (const id of acked) {
    const res = await fetch(`${again.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(sampleEvent({ id })),
    });
    t.equal(((await res.json()) as { duplicate: boolean }).duplicate, true, `${id} was stored before the stop`);
  }
  const stopped = new Promise<number | null>((resolve) => again.child.once('exit', (code) => resolve(code)));
  again.child.kill('SIGTERM');
  t.equal(await stopped, 0);
});

t.test('an embedded nats-server orphaned by a SIGKILLed gateway is stopped by the next start', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: 'k' });
  t.teardown(() => {
    if (alive(first.natsPid)) process.kill(first.natsPid, 'SIGKILL');
  });
  t.ok(first.natsPid > 0, 'logs the embedded server pid');
  const killed = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await killed;
  t.ok(alive(first.natsPid), 'the orphan outlives a SIGKILLed gateway');

  const second = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: 'k' });
  t.teardown(() => killAll(second));
  t.notOk(alive(first.natsPid), 'the next start stopped the orphan');
  t.ok(
    second.lines.some((l) => l.includes('orphaned embedded nats-server')),
    'and said so',
  );
  const res = await fetch(`${second.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    body: JSON.stringify(sampleEvent()),
  });
  t.equal(res.status, 202);
  const stopped = new Promise<number | null>((resolve) => second.child.once('exit', (code) => resolve(code)));
  second.child.kill('SIGTERM');
  t.equal(await stopped, 0);
  t.notOk(alive(second.natsPid), 'a clean stop leaves no nats-server behind');
});

/** Pids of nats-server processes whose command line names `dir` (their store). */
function natsServersUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('nats-server') && cmd.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

t.test('a bad API_KEYS_FILE or EVENT_TYPES_DIR stops the start (exit 2) before any nats-server is started', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => {
    for (const pid of natsServersUsing(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  const badKeys = join(dataDir, 'keys.json');
  writeFileSync(badKeys, '{"keys": [{"tenant_id": "ten a"}]}');
  const cases: [string, Record<string, string>, RegExp][] = [
    ['an invalid key file', { API_KEYS_FILE: badKeys }, /keys\.json/],
    ['a missing key file', { API_KEYS_FILE: join(dataDir, 'nope.json') }, /API_KEYS_FILE/],
    ['a missing EVENT_TYPES_DIR', { EVENT_TYPES_DIR: join(dataDir, 'no-types') }, /EVENT_TYPES_DIR/],
  ];
  for (const [what, env, message] of cases) {
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PORT: '0', NATS_URL: '', API_KEYS_FILE: '', EVENT_TYPES_DIR: '', NATS_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    t.equal(code, 2, `${what}: exit 2`);
    t.match(output, message, `${what}: says what is wrong`);
    t.notMatch(output, /embedded nats-server started/, `${what}: started no nats-server`);
    t.same(natsServersUsing(dataDir), [], `${what}: no nats-server left running`);
  }
});

t.test('SIGHUP does not stop the gateway: it is logged and ignored', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const gw = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: 'k' });
  t.teardown(() => killAll(gw));
  gw.child.kill('SIGHUP');
  await eventually('the SIGHUP log line', () => gw.lines.some((l) => l.includes('SIGHUP')));
  const line = JSON.parse(gw.lines.find((l) => l.includes('SIGHUP')) as string);
  t.equal(line.level, 30, 'logged at info');
  t.match(line.msg, /reload/);
  t.equal(gw.child.exitCode, null, 'still running');
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'still serving');
  const stopped = new Promise<number | null>((resolve) => gw.child.once('exit', (code) => resolve(code)));
  gw.child.kill('SIGTERM');
  t.equal(await stopped, 0);
});

t.test('a second npm start on the same data dir leaves the first alone: exit 2 with a clear message', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startMain({ NATS_DATA_DIR: dataDir, DEV_API_KEY: 'k' });
  t.teardown(() => killAll(first));

  const second = spawnGateway(t, { NATS_URL: '', NATS_DATA_DIR: dataDir, DEV_API_KEY: 'k', SHUTDOWN_DRAIN_MS: '100' });
  // Today's failure would be a second gateway that starts (its own nats-server on the store):
  // then everything it started goes at teardown.
  t.teardown(() => {
    for (const pid of natsServersUsing(dataDir)) if (pid !== first.natsPid) process.kill(pid, 'SIGKILL');
  });
  const outcome = await Promise.race([second.exited, second.listening(30_000).then(() => 'listening')]);
  t.equal(outcome, 2, 'the second instance exits 2');
  const output = second.lines.join('\n');
  t.match(output, /NATS_DATA_DIR/, 'names the setting');
  t.match(output, new RegExp(`pid ${first.child.pid}`), "names the first gateway's pid");
  t.notMatch(output, /orphaned/, 'does not take the running server for an orphan');
  t.ok(alive(first.natsPid), "the first instance's nats-server still runs");
  const res = await fetch(`${first.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    body: JSON.stringify(sampleEvent()),
  });
  t.equal(res.status, 202, 'the first instance still publishes');

  const stopped = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
  first.child.kill('SIGTERM');
  t.equal(await stopped, 0);
  t.notOk(alive(first.natsPid), 'a clean stop leaves no nats-server behind');
});
