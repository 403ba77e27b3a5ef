// API_KEYS_FILE at run time: read again on SIGHUP and when the file changes (a watch of its
// directory, debounced); a file that does not load keeps the keys in force and logs why.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import t from 'tap';
import { sha256 } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { spawnGateway } from './helpers/child-gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';

const OLD = 'key-before-the-reload';
const NEW = 'key-after-the-reload';

function keyFile(entries: { key: string; tenant: string; scopes: string[] }[]): string {
  return JSON.stringify({
    keys: entries.map((e) => ({ tenant_id: e.tenant, key_sha256: sha256(e.key).toString('hex'), scopes: e.scopes })),
  });
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function status(url: string, key: string): Promise<number> {
  return (await fetch(`${url}/v1/event-types`, { headers: { authorization: `Bearer ${key}` } })).status;
}

t.test('a child gateway reloads API_KEYS_FILE on SIGHUP, and keeps its keys when the new file is broken', async (t) => {
  const nats = await startNats(t);
  const dir = tempDir(t);
  const file = join(dir, 'keys.json');
  writeFileSync(file, keyFile([{ key: OLD, tenant: 'ten_a', scopes: ['read'] }]));
  const gw = spawnGateway(t, { NATS_URL: nats.url, API_KEYS_FILE: file, SHUTDOWN_DRAIN_MS: '100' });
  const url = await gw.listening(30_000);
  t.equal(await status(url, OLD), 200);
  t.equal(await status(url, NEW), 401);

  const reloads = (why: string) => gw.lines.filter((l) => l.includes('API keys reloaded') && l.includes(`"why":"${why}"`)).length;
  writeFileSync(file, keyFile([{ key: NEW, tenant: 'ten_a', scopes: ['read'] }]));
  gw.child.kill('SIGHUP');
  await eventually(
    'the SIGHUP reload logged',
    () => reloads('reload'),
    (n) => n >= 1,
  );
  t.equal(await status(url, NEW), 200, 'the new key works');
  t.equal(await status(url, OLD), 401, 'the removed key is refused');

  const failures = () => gw.lines.filter((l) => l.includes('API keys not reloaded'));
  writeFileSync(file, '{"keys": [ {"tenant_id": "ten_a", ');
  gw.child.kill('SIGHUP');
  await eventually('the failed reload logged', () => failures().some((l) => l.includes('"why":"reload"')));
  const logged = JSON.parse(failures().find((l) => l.includes('"why":"reload"')) as string);
  t.equal(logged.level, 50, 'logged as an error');
  t.match(logged.error, /API_KEYS_FILE/, 'with the reason');
  t.equal(await status(url, NEW), 200, 'the keys in force are kept');
  t.equal(gw.child.exitCode, null, 'still running');

  const stopped = gw.exited;
  gw.child.kill('SIGTERM');
  t.equal(await stopped, 0);
});

t.test('a change of the file is picked up without a signal, also when the file is replaced by a rename', async (t) => {
  const nats = await startNats(t);
  const dir = tempDir(t);
  const file = join(dir, 'keys.json');
  writeFileSync(file, keyFile([{ key: OLD, tenant: 'ten_a', scopes: ['read'] }]));
  const logs = captureLogs('info');
  const app = await buildApp(configWith({ NATS_URL: [nats.url], API_KEYS_FILE: file }), { logger: logs.logger });
  t.teardown(() => app.close());
  await app.ready();
  const code = async (key: string) =>
    (await app.inject({ url: '/v1/event-types', headers: { authorization: `Bearer ${key}` } })).statusCode;
  t.equal(await code(OLD), 200);

  writeFileSync(file, keyFile([{ key: NEW, tenant: 'ten_a', scopes: ['read'] }]));
  await eventually(
    'the new key works',
    () => code(NEW),
    (c) => c === 200,
  );
  t.equal(await code(OLD), 401, 'the old one is gone');

  // Editors and config management write a temporary file and rename it over the old one.
  const staged = join(dir, '.keys.json.tmp');
  writeFileSync(staged, keyFile([{ key: OLD, tenant: 'ten_a', scopes: ['read'] }]));
  renameSync(staged, file);
  await eventually(
    'the renamed-in file is read',
    () => code(OLD),
    (c) => c === 200,
  );
  t.equal(await code(NEW), 401);

  writeFileSync(file, '{"keys": [{"tenant_id": "ten a", "key_sha256": "00", "scopes": []}]}');
  await eventually('the broken file logged', () => logs.lines.some((l) => String(l.msg).includes('API keys not reloaded')));
  t.equal(await code(OLD), 200, 'a broken file keeps the keys in force');
  // Other files in the directory are not the key file.
  writeFileSync(join(dir, 'unrelated.txt'), 'x');
  t.equal(await code(OLD), 200);
});

t.test('a file key with the admin scope administers, and disabling its own tenant does not lock it out', async (t) => {
  const nats = await startNats(t);
  const dir = tempDir(t);
  const file = join(dir, 'keys.json');
  const ADMIN = 'file-admin-key-of-ten-ops';
  writeFileSync(file, keyFile([{ key: ADMIN, tenant: 'ten_ops', scopes: ['admin', 'read'] }]));
  const app = await buildApp(configWith({ NATS_URL: [nats.url], API_KEYS_FILE: file }), { logger: captureLogs('silent').logger });
  t.teardown(() => app.close());
  await app.ready();
  const call = async (method: 'GET' | 'PUT', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, code: (res.json() as { code?: string }).code };
  };
  t.equal((await call('PUT', '/v1/admin/tenants/ten_ops', { enabled: false })).status, 200);
  t.equal((await call('GET', '/v1/admin/tenants/ten_ops')).status, 200, 'still administers');
  t.same(await call('GET', '/v1/event-types'), { status: 403, code: 'GW_TENANT_DISABLED' }, 'but acts for a disabled tenant elsewhere');
});

t.test('a Kubernetes-style update (a `..data` symlink swapped behind the file) is picked up', async (t) => {
  const nats = await startNats(t);
  const dir = tempDir(t);
  // The layout of a ConfigMap volume: keys.json → ..data/keys.json, ..data → a versioned directory.
  mkdirSync(join(dir, 'v1'));
  writeFileSync(join(dir, 'v1', 'keys.json'), keyFile([{ key: OLD, tenant: 'ten_a', scopes: ['read'] }]));
  symlinkSync('v1', join(dir, '..data'));
  symlinkSync(join('..data', 'keys.json'), join(dir, 'keys.json'));
  const app = await buildApp(configWith({ NATS_URL: [nats.url], API_KEYS_FILE: join(dir, 'keys.json') }), {
    logger: captureLogs('silent').logger,
  });
  t.teardown(() => app.close());
  await app.ready();
  const code = async (key: string) =>
    (await app.inject({ url: '/v1/event-types', headers: { authorization: `Bearer ${key}` } })).statusCode;
  t.equal(await code(OLD), 200);

  mkdirSync(join(dir, 'v2'));
  writeFileSync(join(dir, 'v2', 'keys.json'), keyFile([{ key: NEW, tenant: 'ten_a', scopes: ['read'] }]));
  symlinkSync('v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await eventually(
    'the swapped-in keys work',
    () => code(NEW),
    (c) => c === 200,
  );
  t.equal(await code(OLD), 401);
});
