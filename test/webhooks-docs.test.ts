// The receivers of docs/webhooks.md run as written: each code block is written to a file, started
// with node / python3, and a webhook of a live gateway delivers to it; each verifies every
// signature (also across a secret rotation) and refuses a forged request.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { call, publish } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { putWebhook } from './helpers/webhooks.ts';

const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'webhooks.md'), 'utf8');

/** The code block whose fence names `file` (```js receiver.mjs). */
function block(file: string): string {
  const m = new RegExp('```\\w+ ' + file.replace('.', '\\.') + '\\n([\\s\\S]*?)\\n```').exec(doc);
  if (!m) throw new Error(`docs/webhooks.md has no ${file} block`);
  return `${m[1]}\n`;
}

function start(t: Test, command: string, file: string, secret: string): { lines: string[]; child: ChildProcess } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-receiver-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, file), block(file));
  const child = spawn(command, [file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', WEBHOOK_SECRET: secret, PORT: '0', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => lines.push(`stderr: ${l}`));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return { lines, child };
}

for (const [language, command, file] of [
  ['Node', process.execPath, 'receiver.mjs'],
  ['Python', 'python3', 'receiver.py'],
] as const) {
  t.test(`the ${language} receiver of docs/webhooks.md verifies every delivery, across a rotation`, async (t) => {
    const nats = await startNats(t);
    const { app } = await startGateway(t, nats.url, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true });
    // The receiver needs the secret before the webhook exists: create it paused, pointing nowhere useful.
    const created = await putWebhook(app, KEYS.a, 'docs', { url: 'http://127.0.0.1:9/', types: ['order.*'] });
    t.equal(created.status, 201, JSON.stringify(created.body));
    await call(app, KEYS.a, 'POST', '/v1/webhooks/docs/pause');
    const receiver = start(t, command, file, created.body.secret as string);
    const line = await eventually('the receiver to listen', () => receiver.lines.find((l) => l.startsWith('listening on ')), Boolean, {
      timeoutMs: 20_000,
    });
    const url = `http://127.0.0.1:${line?.slice('listening on '.length)}/`;
    t.equal((await putWebhook(app, KEYS.a, 'docs', { url, types: ['order.*'] })).status, 200);
    await call(app, KEYS.a, 'POST', '/v1/webhooks/docs/resume');

    const first = [
      await publish(app, KEYS.a, { type: 'order.created' }),
      await publish(app, KEYS.a, { type: 'order.cancelled', data: { order_id: 'o1' } }),
    ];
    await eventually('both events handled', () => first.every((e) => receiver.lines.some((l) => l.startsWith(`event ${e.id} `))), Boolean, {
      timeoutMs: 20_000,
    });
    t.ok(receiver.lines.includes(`event ${first[1]?.id} order.cancelled`), 'the receiver parsed the envelope');

    // After a rotation the receiver still holds only the old secret: the second signature verifies.
    t.equal((await call(app, KEYS.a, 'POST', '/v1/webhooks/docs/rotate-secret')).status, 200);
    const rotated = await publish(app, KEYS.a, { type: 'order.created' });
    await eventually(
      'the event after the rotation handled',
      () => receiver.lines.some((l) => l.startsWith(`event ${rotated.id} `)),
      Boolean,
      {
        timeoutMs: 20_000,
      },
    );
    const attempts = await eventually(
      'the recorded attempts',
      async () => (await call(app, KEYS.a, 'GET', '/v1/webhooks/docs/attempts')).body.attempts as { status: number; event_id: string }[],
      (a) => a.some((x) => x.event_id === rotated.id),
    );
    t.ok(
      attempts.filter((a) => [...first, rotated].some((e) => e.id === a.event_id)).every((a) => a.status === 204),
      'every delivery answered 204',
    );

    // A forged request is refused.
    const body = JSON.stringify({ id: 'evt_forged', type: 'order.created' });
    const forged = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'evt_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
      body,
    });
    t.equal(forged.status, 401, 'a wrong signature is refused');
    const stale = await fetch(url, {
      method: 'POST',
      headers: { 'webhook-id': 'x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
      body,
    });
    t.equal(stale.status, 401, 'a stale timestamp is refused');
    t.notOk(
      receiver.lines.some((l) => l.includes('evt_forged') || l.startsWith('stderr')),
      'nothing forged handled, nothing on stderr',
    );
    t.equal(receiver.lines.filter((l) => l.startsWith('event ')).length, 3, 'each event handled once');
  });
}
