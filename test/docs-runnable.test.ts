// Documentation that runs as written: every fenced block marked `runnable` in README.md, docs/*.md and
// examples/**.md is run against a real gateway and nats-server (a fresh pair per document, so the
// sequence numbers a document shows are the ones it gets), and what it prints is checked against its
// `# →` expectations (test/helpers/runnable-docs.ts has the convention). Shell blocks run in bash in
// an empty project directory that has `ws` and the platforma-events CLI installed, as a user's would.
// Blocks marked `html runnable` are browser pages (docs/websocket.md's example): served by a stand-in
// for the reader's backend (which hands out tickets) and run in headless Chromium (skipped without it).
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway, type TestGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import {
  type DocBlock,
  documentFiles,
  fencedBlocks,
  matchesExpectation,
  outputSegments,
  readDoc,
  shellScript,
} from './helpers/runnable-docs.ts';

const SHELLS = new Set(['sh', 'bash', 'shell', 'console']);
const PAGES = new Set(['html']);
const RUNNERS = new Set([...SHELLS, ...PAGES]);

function findChromium(): string | undefined {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return bin;
    } catch {}
  }
  return undefined;
}

/** A user's project: `npm install ws` and the client package (its CLI on `npx platforma-events`). */
function userProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-docs-'));
  const modules = join(dir, 'node_modules');
  const pkg = join(modules, '@platforma', 'event-gateway-client');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'docs-user', private: true, type: 'module' }));
  symlinkSync(join(PROJECT_ROOT, 'node_modules', 'ws'), join(modules, 'ws'));
  // The CLI from the client's sources (test/clients-package.test.ts covers the packed build).
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({ name: '@platforma/event-gateway-client', version: '0.0.0', type: 'module', bin: { 'platforma-events': 'cli.js' } }),
  );
  writeFileSync(
    join(pkg, 'cli.js'),
    `#!/usr/bin/env node\nawait import(${JSON.stringify(join(PROJECT_ROOT, 'clients', 'typescript', 'src', 'cli.ts'))});\n`,
    { mode: 0o755 },
  );
  symlinkSync('../@platforma/event-gateway-client/cli.js', join(modules, '.bin', 'platforma-events'));
  return dir;
}

/** This process's environment without what the test runner set for its own Node processes. */
function userEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^(TAP|NODE_OPTIONS$|NODE_V8_COVERAGE$|_TAPJS)/.test(e[0]),
    ),
  );
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `set -eo pipefail\n${script}`],
      {
        cwd,
        env: {
          ...userEnv(),
          PATH: `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
          // The Python client as `pip install ./clients/python` would make it importable.
          PYTHONPATH: join(PROJECT_ROOT, 'clients', 'python'),
          NO_COLOR: '1',
          ...env,
        },
        timeout: 90_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const chromium = findChromium();
const documents = documentFiles().map((file) => ({ file, blocks: fencedBlocks(file, readDoc(file)) }));

t.test('the convention: only blocks marked runnable run, and each has a runner', async (t) => {
  const runnable = documents.flatMap((d) => d.blocks.filter((b) => b.runnable));
  t.ok(runnable.length >= 10, `${runnable.length} runnable blocks`);
  for (const b of runnable) t.ok(RUNNERS.has(b.lang), `${b.file}:${b.line}: a runner for \`${b.lang}\``);
  t.ok(
    documents.find((d) => d.file === 'README.md')?.blocks.some((b) => b.runnable),
    'the README has runnable blocks',
  );
  // Shell blocks left unmarked are illustrations (a command that runs forever, a placeholder to fill
  // in); listed here so a reader of the test output sees what is not run.
  for (const d of documents) {
    const left = d.blocks.filter((b) => !b.runnable && SHELLS.has(b.lang)).map((b) => b.line);
    if (left.length) t.comment(`${d.file}: shell blocks not run (lines ${left.join(', ')})`);
  }
});

t.test('the expectation matcher', async (t) => {
  t.ok(matchesExpectation('{"id":"evt_01JX","seq":1}', '{"id":"evt_...","seq":1}'));
  t.ok(matchesExpectation('{"a": 1,\n "b": 2}', '{"a":1,"b":2}'), 'whitespace is ignored');
  t.notOk(matchesExpectation('{"id":"evt_01JX","seq":2}', '{"id":"evt_...","seq":1}'), 'a different value fails');
  t.notOk(matchesExpectation('{"seq":1}trailing', '{"seq":1}'), 'the whole output must match');
  const { script, expectations } = shellScript({
    file: 'x.md',
    line: 1,
    lang: 'sh',
    runnable: true,
    body: 'echo a\n# → a\necho "b c"\n# → b\n#     c\necho d\necho e\n# → d\n# → e',
  });
  t.same(
    expectations.map((e) => e.text),
    ['a', 'bc', 'd\ne'],
  );
  const run = await bash(script, tmpdir(), {});
  const segments = outputSegments(run.stdout);
  t.same(
    expectations.map((e, i) => matchesExpectation(segments[i] ?? '', e.text)),
    [true, true, true],
  );
});

for (const { file, blocks } of documents) {
  const runnable = blocks.filter((b) => b.runnable);
  if (runnable.length === 0) continue;
  t.test(`${file} runs as written`, async (t) => {
    const nats = await startNats(t);
    const gw = await startGateway(t, nats.url, {}, { listen: true });
    const project = userProject();
    t.teardown(() => rmSync(project, { recursive: true, force: true }));
    // examples/ also use GATEWAY_API_KEY, the variable the Python example reads.
    const env = { GATEWAY_URL: gw.url, KEY: KEYS.a, GATEWAY_API_KEY: KEYS.a };
    for (const block of runnable) {
      if (SHELLS.has(block.lang)) await runShell(t, block, project, env);
      else await t.test(`${file}:${block.line} in a browser`, { skip: !chromium && 'no chromium' }, (t) => runPage(t, block, gw));
    }
  });
}

async function runShell(t: Test, block: DocBlock, cwd: string, env: Record<string, string>): Promise<void> {
  const where = `${block.file}:${block.line}`;
  const { script, expectations } = shellScript(block);
  const run = await bash(script, cwd, env);
  t.equal(run.code, 0, `${where} exits 0`, { stdout: run.stdout, stderr: run.stderr });
  const segments = outputSegments(run.stdout);
  t.ok(segments.length > expectations.length, `${where}: reached its last expectation`, { stdout: run.stdout });
  expectations.forEach((e, i) => {
    const actual = (segments[i] ?? '').trim();
    t.ok(matchesExpectation(actual, e.text), `${block.file}:${e.line} prints what it shows`, {
      expected: e.text,
      actual,
      stderr: run.stderr,
    });
  });
}

/**
 * Watches the page from inside: page errors, console warnings and errors, every WebSocket frame sent
 * and received, and the list it renders; each reported to the serving backend, numbered (the
 * reports are separate requests and may arrive out of order).
 */
const PAGE_HARNESS = `<script>
(() => {
  let n = 0;
  const report = (line) => fetch('/log', { method: 'POST', body: (n++) + ' ' + line });
  addEventListener('error', (e) => report('page-error ' + e.message));
  addEventListener('unhandledrejection', (e) => report('page-error ' + e.reason));
  for (const level of ['warn', 'error']) {
    const original = console[level];
    console[level] = (...args) => { report('console-' + level + ' ' + args.join(' ')); original.apply(console, args); };
  }
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      report('open');
      this.addEventListener('message', (e) => report('recv ' + e.data));
      this.addEventListener('close', (e) => report('close ' + e.code));
    }
    send(data) { report('sent ' + data); super.send(data); }
  };
  let shown = '';
  setInterval(() => {
    const now = [...document.querySelectorAll('li')].map((li) => li.textContent).join('\\n');
    if (now !== shown) report('shown ' + JSON.stringify((shown = now)));
  }, 100);
})();
</script>
`;

/**
 * Runs a page block: the backend serves it (the gateway URL placeholder replaced by the test's
 * gateway) and answers POST /my-backend/ws-ticket with a ticket for the tenant's key. Publishes
 * order events and checks the page shows each once, in order, acknowledges each, and after its
 * connection is cut resumes with a new ticket without a gap.
 */
async function runPage(t: Test, block: DocBlock, gw: TestGateway): Promise<void> {
  const page = block.body.replace(/wss:\/\/gateway\.example\.com/g, gw.url.replace(/^http/, 'ws'));
  t.not(page, block.body, 'the page names the gateway as wss://gateway.example.com (replaced here)');
  const reports: { n: number; line: string }[] = [];
  let tickets = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/') {
      return void res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(page.replace(/^<!doctype html>\n/i, (d) => d + PAGE_HARNESS));
    }
    if (req.method === 'POST' && path === '/my-backend/ws-ticket') {
      tickets++;
      void gw.app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) }).then((r) => {
        res.writeHead(r.statusCode, { 'content-type': 'application/json' }).end(r.body);
      });
      return;
    }
    if (req.method === 'POST' && path === '/log') {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const space = body.indexOf(' ');
        reports.push({ n: Number(body.slice(0, space)), line: body.slice(space + 1) });
        res.writeHead(204).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const profile = mkdtempSync(join(tmpdir(), 'gw-docs-chromium-'));
  const browser: ChildProcess = execFile(
    chromium as string,
    ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, pageUrl],
    { timeout: 120_000 },
    () => {},
  );
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  t.teardown(async () => {
    browser.kill();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    rmSync(profile, { recursive: true, force: true });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const lines = () => [...reports].sort((a, b) => a.n - b.n).map((r) => r.line);
  const frames = (prefix: 'sent' | 'recv') =>
    lines()
      .filter((l) => l.startsWith(`${prefix} `))
      .map((l) => JSON.parse(l.slice(prefix.length + 1)) as Record<string, unknown>);
  const shown = () => {
    const last = lines()
      .filter((l) => l.startsWith('shown '))
      .at(-1);
    return last ? (JSON.parse(last.slice(6)) as string).split('\n').filter(Boolean) : [];
  };
  const publish = async (id: string) => {
    const r = await gw.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(KEYS.a),
      payload: { id, type: 'order.created', source: 'orders-service', data: { order_id: `ord_${id}` } },
    });
    t.equal(r.statusCode, 202, `published ${id}`);
    return (r.json() as { seq: number }).seq;
  };
  const acked = () =>
    frames('sent')
      .filter((f) => f.op === 'ack')
      .map((f) => f.seq);

  await eventually('the page to subscribe', () => frames('recv').some((f) => f.op === 'subscribed'), Boolean, { timeoutMs: 60_000 });
  const s1 = await publish('evt_docs_page_1');
  const s2 = await publish('evt_docs_page_2');
  await eventually('both events shown and acknowledged', () => shown().length === 2 && acked().length === 2, Boolean, {
    timeoutMs: 20_000,
  });
  t.same(acked(), [s1, s2], 'each event is acknowledged once shown');

  // A dropped connection (a gateway restart, a network cut): an event published meanwhile still arrives.
  for (const socket of gw.app.websocketServer.clients) socket.terminate();
  const s3 = await publish('evt_docs_page_3');
  await eventually('the event published while disconnected to be shown', () => shown().length === 3, Boolean, { timeoutMs: 30_000 });
  await eventually('its ack', () => acked().length === 3, Boolean, { timeoutMs: 10_000 });

  t.same(
    shown(),
    ['evt_docs_page_1', 'evt_docs_page_2', 'evt_docs_page_3'].map((id) => `order.created ord_${id} (${id})`),
    'each event shown once, in order',
  );
  t.same(acked(), [s1, s2, s3], 'and acknowledged');
  const subscribes = frames('sent').filter((f) => f.op === 'subscribe');
  t.equal(tickets, 2, 'a new ticket for the reconnection (tickets are single-use)');
  t.same(
    subscribes.map((f) => f.from),
    ['new', { seq: s2 + 1 }],
    'the reconnection resumes after the last event processed',
  );
  t.same(
    lines().filter((l) => /^(page-error|console-error)/.test(l)),
    [],
    'no page errors',
  );
}
