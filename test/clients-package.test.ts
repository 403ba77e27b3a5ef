// The TypeScript client as a user gets it: built to JavaScript + .d.ts, packed with `npm pack`,
// installed from the tarball into an empty project, and used there against a live gateway: a
// publish + subscribe script (on Node 20 when one is installed, else on this Node with its global
// WebSocket switched off, so the `ws` fallback is what runs), a consumer typechecked against the
// shipped .d.ts, and the `platforma-events` CLI with piped (JSON lines) output.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { TSC } from './helpers/tsc.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const CLIENT_DIR = join(PROJECT_ROOT, 'clients', 'typescript');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, timeout: opts.timeout ?? 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const lines = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A Node older than 22 (no global WebSocket) when the machine has one, e.g. Debian's /usr/bin/node. */
function oldNode(): string | undefined {
  for (const bin of [process.env.NODE20_BIN, '/usr/bin/node'].filter((b): b is string => Boolean(b))) {
    try {
      const major = Number(execFileSync(bin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
      if (major >= 20 && major < 22) return bin;
    } catch {}
  }
  return undefined;
}

t.test('the packed client installs into a plain project and talks to a live gateway', async (t) => {
  // Build (dist/ is not committed) and pack without scripts: the build just ran.
  const build = await run(TSC, ['-p', join(CLIENT_DIR, 'tsconfig.build.json')], { cwd: PROJECT_ROOT });
  t.equal(build.code, 0, `tsc build: ${build.stdout}${build.stderr}`);
  const work = mkdtempSync(join(tmpdir(), 'client-package-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: CLIENT_DIR });
  t.equal(pack.code, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const files = (packed?.files ?? []).map((f) => f.path);
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/cli.js'), 'ships JavaScript and types');
  t.notOk(
    files.some((f) => f.startsWith('src/')),
    'ships no sources',
  );

  const project = join(work, 'project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? '');
  // Its dependencies (openapi-fetch, ws) come from npm's cache when it has them (CI: after npm ci).
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, timeout: 300_000 });
  t.equal(install.code, 0, `npm install: ${install.stderr}`);

  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });

  t.test('a publish + subscribe script, on Node without a global WebSocket (the ws fallback)', async (t) => {
    writeFileSync(
      join(project, 'pubsub.mjs'),
      `import { createGatewayClient, subscribe } from '@platforma/event-gateway-client';
const [url, key] = process.argv.slice(2);
const client = createGatewayClient({ baseUrl: url, apiKey: key });
const received = [];
let done;
const all = new Promise((resolve) => { done = resolve; });
const sub = subscribe({
  baseUrl: url, apiKey: key, types: ['order.*'], ack: 'client',
  onEvent: (event, frame) => { received.push({ id: event.id, seq: frame.seq }); if (received.length === 3) done(); },
});
await sub.ready;
const published = [];
for (const n of [1, 2, 3]) {
  published.push(await client.publishEvent({ type: 'order.created', source: 'package-test', data: { order_id: 'ord_' + n } }, { correlationId: 'req_pkg' }));
}
await all;
await sub.close();
const trace = await client.getCorrelation('req_pkg');
console.log(JSON.stringify({ websocket: typeof globalThis.WebSocket, published, received, traced: trace.events.length }));
`,
    );
    const old = oldNode();
    const [node, args] = old ? [old, []] : [process.execPath, ['--no-experimental-websocket']];
    t.comment(`running on ${old ?? `${process.execPath} --no-experimental-websocket`}`);
    const result = await run(node, [...args, 'pubsub.mjs', gw.url, KEYS.a], { cwd: project, timeout: 60_000 });
    t.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      websocket: string;
      published: { id: string; seq: number }[];
      received: { id: string; seq: number }[];
      traced: number;
    };
    t.equal(out.websocket, 'undefined', 'no global WebSocket: the ws package carried the subscription');
    t.same(
      out.received,
      out.published.map((p) => ({ id: p.id, seq: p.seq })),
    );
    t.equal(out.traced, 3);
  });

  t.test('an SSE tail script (fetch streaming, Last-Event-ID), on the oldest Node at hand', async (t) => {
    writeFileSync(
      join(project, 'tail.mjs'),
      `import { createGatewayClient, tailEvents } from '@platforma/event-gateway-client';
const [url, key] = process.argv.slice(2);
const client = createGatewayClient({ baseUrl: url, apiKey: key });
const received = [];
let done;
const all = new Promise((resolve) => { done = resolve; });
const tail = tailEvents({
  baseUrl: url, apiKey: key, types: ['order.*'],
  onEvent: (event, meta) => { received.push({ id: event.id, seq: meta.id, type: meta.type }); if (received.length === 3) done(); },
});
await tail.ready;
const published = [];
for (const n of [1, 2, 3]) published.push(await client.publishEvent({ type: 'order.created', source: 'package-test', data: { order_id: 'ord_sse' + n } }));
await all;
await tail.close();
console.log(JSON.stringify({ published, received, lastEventId: tail.lastEventId }));
`,
    );
    const node = oldNode() ?? process.execPath;
    t.comment(`running on ${node}`);
    const result = await run(node, ['tail.mjs', gw.url, KEYS.a], { cwd: project, timeout: 60_000 });
    t.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as {
      published: { id: string; seq: number }[];
      received: { id: string; seq: number; type: string }[];
      lastEventId: number;
    };
    t.same(
      out.received,
      out.published.map((p) => ({ id: p.id, seq: p.seq, type: 'order.created' })),
    );
    t.equal(out.lastEventId, out.published.at(-1)?.seq);
  });

  t.test('a TypeScript consumer typechecks against the shipped declarations', async (t) => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { createGatewayClient, GatewayProblemError, subscribe, tailEvents, type EventInput, type FetchResult } from '@platforma/event-gateway-client';
const client = createGatewayClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'k' });
const event: EventInput = { type: 'order.created', source: 's', data: { order_id: 'o' } };
const stored: { seq: number } = await client.publishEvent(event);
const page: FetchResult = await client.fetchConsumer('billing', { max: 10 });
await client.putConsumer('billing', { types: ['order.*'] });
await client.listEvents({ query: { types: ['order.*'], limit: 5 } });
await client.redriveDeadLetters({ seqs: [1] });
const sub = subscribe({ baseUrl: 'http://x', apiKey: 'k', types: ['*'], onEvent: (e) => void e.type });
const tail = tailEvents({ baseUrl: 'http://x', apiKey: 'k', types: ['order.*'], lastEventId: 42, onEvent: (e, meta) => void [e.type, meta.id] });
void sub; void tail; void stored; void page; void GatewayProblemError;
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['es2022', 'dom'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    const check = await run(TSC, ['-p', 'tsconfig.json'], { cwd: project });
    t.equal(check.code, 0, check.stdout + check.stderr);
  });

  t.test('the CLI, piped: JSON lines', async (t) => {
    const cli = join(project, 'node_modules', '.bin', 'platforma-events');
    const env = { PLATFORMA_URL: gw.url, PLATFORMA_KEY: KEYS.a };
    const cliRun = (args: string[]) => run(cli, args, { cwd: project, env });

    const published = await cliRun([
      'publish',
      '--type',
      'order.created',
      '--source',
      'cli-test',
      '--data',
      '{"order_id":"ord_cli"}',
      '--correlation-id',
      'req_cli',
    ]);
    t.equal(published.code, 0, published.stderr);
    const [stored] = lines(published.stdout);
    t.match(stored, { id: /^evt_/, seq: Number, duplicate: false });
    const second = await cliRun([
      '--url',
      gw.url,
      'publish',
      '--type',
      'order.validated',
      '--source',
      'validator',
      '--data',
      '{"order_id":"ord_cli"}',
      '--correlation-id',
      'req_cli',
    ]);
    t.equal(second.code, 0, second.stderr);

    const history = await cliRun(['history', '--types', 'order.created,order.validated', '--correlation-id', 'req_cli', '--limit', '10']);
    t.equal(history.code, 0, history.stderr);
    t.same(
      lines(history.stdout).map((l) => (l.event as { type: string }).type),
      ['order.created', 'order.validated'],
    );

    const saga = await cliRun(['saga', 'req_cli']);
    t.equal(saga.code, 0, saga.stderr);
    const steps = lines(saga.stdout);
    t.match(steps, [
      { step: 1, source: 'cli-test', type: 'order.created', elapsed_ms: 0 },
      { step: 2, source: 'validator', type: 'order.validated', elapsed_ms: Number },
    ]);

    const put = await cliRun(['consumers', 'put', 'cli-billing', '--types', 'order.*', '--from', String(stored?.seq)]);
    t.equal(put.code, 0, put.stderr);
    t.match(lines(put.stdout), [{ name: 'cli-billing', types: ['order.*'] }]);
    const fetched = await cliRun(['consumers', 'fetch', 'cli-billing', '--max', '10', '--wait-ms', '0', '--ack']);
    t.equal(fetched.code, 0, fetched.stderr);
    t.same(
      lines(fetched.stdout).map((l) => l.seq),
      [stored?.seq, (stored?.seq as number) + 1],
    );
    const got = await cliRun(['consumers', 'get', 'cli-billing']);
    t.match(lines(got.stdout), [{ name: 'cli-billing', unacked: 0, pending: 0 }]);

    const dlq = await cliRun(['dlq', 'list']);
    t.equal(dlq.code, 0, dlq.stderr);
    t.same(lines(dlq.stdout), []);
    const dryRun = await cliRun(['dlq', 'redrive', '--all', '--dry-run']);
    t.equal(dryRun.code, 0, dryRun.stderr);
    t.same(lines(dryRun.stdout), [], 'a dry run over no dead letters lists none');

    const problem = await run(cli, ['saga', 'req_cli'], { cwd: project, env: { ...env, PLATFORMA_KEY: 'wrong' } });
    t.equal(problem.code, 1);
    t.match(JSON.parse(problem.stderr), { error: { status: 401, code: 'GW_UNAUTHORIZED' } });
    const usage = await cliRun(['publish', '--type', 'order.created']);
    t.equal(usage.code, 2);

    // tail: live events as JSON lines, only those matching the type pattern and the content filter.
    const tail = spawn(cli, ['tail', '--types', 'order.*', '--filter', '{"source":["tail-me"]}'], {
      cwd: project,
      env: { ...process.env, ...env },
    });
    t.teardown(() => tail.kill());
    let tailed = '';
    tail.stdout.on('data', (chunk: Buffer) => {
      tailed += chunk;
    });
    // Publish until the subscription is live and the matching event shows up.
    await eventually(
      'the tail to print the matching event',
      async () => {
        await cliRun(['publish', '--type', 'order.created', '--source', 'other', '--data', '{"order_id":"x"}']);
        await cliRun(['publish', '--type', 'order.created', '--source', 'tail-me', '--data', '{"order_id":"y"}']);
        return tailed;
      },
      (text) => text.includes('tail-me'),
    );
    const exited = new Promise<number | null>((resolve) => tail.once('exit', resolve));
    tail.kill('SIGINT');
    t.equal(await exited, 0, 'exits cleanly on SIGINT');
    const events = lines(tailed);
    t.ok(events.length >= 1);
    for (const e of events) t.match(e, { seq: Number, event: { type: 'order.created', source: 'tail-me' } });

    // tail --sse: the same over Server-Sent Events.
    const sseTail = spawn(cli, ['tail', '--sse', '--types', 'order.*', '--filter', '{"source":["sse-tail-me"]}'], {
      cwd: project,
      env: { ...process.env, ...env },
    });
    t.teardown(() => sseTail.kill());
    let sseTailed = '';
    sseTail.stdout.on('data', (chunk: Buffer) => {
      sseTailed += chunk;
    });
    await eventually(
      'the SSE tail to print the matching event',
      async () => {
        await cliRun(['publish', '--type', 'order.created', '--source', 'other', '--data', '{"order_id":"x"}']);
        await cliRun(['publish', '--type', 'order.created', '--source', 'sse-tail-me', '--data', '{"order_id":"y"}']);
        return sseTailed;
      },
      (text) => text.includes('sse-tail-me'),
    );
    const sseExited = new Promise<number | null>((resolve) => sseTail.once('exit', resolve));
    sseTail.kill('SIGINT');
    t.equal(await sseExited, 0, 'tail --sse exits cleanly on SIGINT');
    const sseEvents = lines(sseTailed);
    t.ok(sseEvents.length >= 1);
    for (const e of sseEvents) t.match(e, { seq: Number, event: { type: 'order.created', source: 'sse-tail-me' } });
  });
});
