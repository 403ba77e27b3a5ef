// Documentation that runs as written: every fenced block marked `runnable` in README.md, docs/*.md and
// examples/*.md is run against a real gateway and nats-server (a fresh pair per document, so the
// sequence numbers a document shows are the ones it gets), and what it prints is checked against its
// `# →` expectations (test/helpers/runnable-docs.ts has the convention). Shell blocks run in bash in
// an empty project directory that has `ws` and the platforma-events CLI installed, as a user's would.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
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
const RUNNERS = new Set([...SHELLS]);

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

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `set -eo pipefail\n${script}`],
      {
        cwd,
        env: {
          PATH: `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
          HOME: cwd,
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
    for (const block of runnable) await runShell(t, block, project, env);
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
