// Keys and tenants at run time: the admin API (scope `admin`) writes API keys (digests only) and
// tenant settings to the admin bucket (NATS KV) that every instance watches, so a key made on one
// instance works on another, and a revoked key or a disabled tenant is refused everywhere within 2 s.
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { sha256 } from '../src/auth/api-keys.ts';
import { call, publish } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const ADMIN = 'bootstrap-admin-key-for-tests';
const REVOCATION_MS = 2000;

async function createKey(app: FastifyInstance, body: Record<string, unknown>) {
  const res = await call(app, ADMIN, 'POST', '/v1/admin/keys', body);
  if (res.status !== 201) throw new Error(`key not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { key: string; key_id: string; tenant_id: string; scopes: string[]; created_at: string; expires_at?: string };
}

/** The status and code of a publish with `key`. */
async function tryPublish(app: FastifyInstance, key: string) {
  const res = await call(app, key, 'POST', '/v1/events', { type: 'order.created', source: 't', data: { order_id: 'o1', amount: 1 } });
  return { status: res.status, code: res.body.code };
}

t.test('a key made on one instance works on another, and once revoked there is refused on both within 2 s', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: `sha256:${sha256(ADMIN).toString('hex')}` });

  const made = await createKey(a.app, { tenant_id: 'ten_new', scopes: ['publish', 'read'], description: 'billing' });
  t.match(made, { tenant_id: 'ten_new', scopes: ['publish', 'read'], description: 'billing', key_id: /^key_/, key: /^gwk_/ });
  t.equal((await tryPublish(a.app, made.key)).status, 202, 'works at once on the instance that made it');
  await eventually(
    'the key works on the other instance',
    () => tryPublish(b.app, made.key),
    (r) => r.status === 202,
  );
  t.pass('works on the other instance (the bootstrap admin key given there as its digest)');
  t.equal((await call(b.app, made.key, 'GET', '/v1/events?types=order.created')).status, 200, 'with its scopes');

  // The bucket holds the digest only, never the key.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const kv = await new Kvm(jetstream(nc)).open('GATEWAY_ADMIN');
  const stored = (await kv.get(`keys.${made.key_id}`))?.string() ?? '';
  t.notMatch(stored, made.key, 'the key is not in the bucket');
  t.match(JSON.parse(stored), { key_sha256: sha256(made.key).toString('hex'), tenant_id: 'ten_new' });

  const listed = await call(b.app, ADMIN, 'GET', '/v1/admin/keys?tenant_id=ten_new');
  t.equal(listed.status, 200);
  t.same(listed.body, {
    keys: [{ key_id: made.key_id, tenant_id: 'ten_new', scopes: ['publish', 'read'], description: 'billing', created_at: made.created_at }],
  });
  t.notMatch(JSON.stringify(listed.body), /gwk_|key_sha256/, 'no secrets listed');
  t.same((await call(b.app, ADMIN, 'GET', '/v1/admin/keys?tenant_id=ten_other')).body, { keys: [] });

  t.same((await call(a.app, ADMIN, 'DELETE', `/v1/admin/keys/${made.key_id}`)).body, { key_id: made.key_id, deleted: true });
  const revokedAt = Date.now();
  t.match(await tryPublish(a.app, made.key), { status: 401, code: 'GW_UNAUTHORIZED' }, 'refused at once where it was revoked');
  await eventually(
    'the other instance refuses it',
    () => tryPublish(b.app, made.key),
    (r) => r.status === 401,
    { timeoutMs: REVOCATION_MS },
  );
  t.comment(`revocation reached the other instance within ${Date.now() - revokedAt} ms`);
  t.same((await call(a.app, ADMIN, 'DELETE', `/v1/admin/keys/${made.key_id}`)).body, { key_id: made.key_id, deleted: false }, 'idempotent');
  t.same((await call(b.app, ADMIN, 'GET', '/v1/admin/keys')).body, { keys: [] });
});

t.test('the admin scope: admin routes refuse other keys, admin keys act on no tenant events', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  for (const [method, url] of [
    ['POST', '/v1/admin/keys'],
    ['GET', '/v1/admin/keys'],
    ['DELETE', '/v1/admin/keys/key_x'],
    ['PUT', '/v1/admin/tenants/ten_a'],
    ['GET', '/v1/admin/tenants/ten_a'],
  ] as const) {
    const res = await call(gw.app, KEYS.a, method, url, method === 'POST' || method === 'PUT' ? {} : undefined);
    t.match(res, { status: 403, body: { code: 'GW_FORBIDDEN_SCOPE' } }, `${method} ${url} needs the admin scope`);
    t.match(await call(gw.app, 'nope', method, url), { status: 401, body: { code: 'GW_UNAUTHORIZED' } });
  }
  t.match(await tryPublish(gw.app, ADMIN), { status: 403, code: 'GW_FORBIDDEN_SCOPE' }, 'the bootstrap admin key cannot publish');
  // A key made with the admin scope administers too.
  const admin2 = await createKey(gw.app, { tenant_id: 'ops', scopes: ['admin'] });
  t.equal((await call(gw.app, admin2.key, 'GET', '/v1/admin/keys')).status, 200);

  const bad = await call(gw.app, ADMIN, 'POST', '/v1/admin/keys', {
    tenant_id: 'ten_a',
    scopes: ['publish'],
    expires_at: '2020-01-01T00:00:00Z',
  });
  t.match(
    bad,
    { status: 422, body: { code: 'GW_VALIDATION_FAILED', errors: [{ pointer: '/expires_at' }] } },
    'an expiry in the past is refused',
  );
  for (const body of [
    { tenant_id: 'ten a', scopes: ['publish'] },
    { tenant_id: 'ten_a', scopes: ['root'] },
    { tenant_id: 'ten_a', scopes: [] },
  ]) {
    t.match(
      await call(gw.app, ADMIN, 'POST', '/v1/admin/keys', body),
      { status: 422, body: { code: 'GW_VALIDATION_FAILED' } },
      JSON.stringify(body),
    );
  }
});

t.test('an expired key is refused with GW_API_KEY_EXPIRED', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  const made = await createKey(gw.app, { tenant_id: 'ten_a', scopes: ['publish'], expires_at: expiresAt });
  t.equal(made.expires_at, expiresAt);
  t.equal((await tryPublish(gw.app, made.key)).status, 202, 'works before its expiry');
  const refused = await eventually(
    'the key expires',
    () => tryPublish(gw.app, made.key),
    (r) => r.status !== 202,
    { timeoutMs: 10_000 },
  );
  t.same(refused, { status: 401, code: 'GW_API_KEY_EXPIRED' });
  t.ok(Date.now() >= Date.parse(expiresAt), 'not before its expiry');
});

t.test("an expired key's open WebSockets are closed (4001)", async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN }, { listen: true });
  const expiresAt = Date.now() + 2000;
  const made = await createKey(gw.app, { tenant_id: 'ten_a', scopes: ['subscribe'], expires_at: new Date(expiresAt).toISOString() });
  const ws = await WsClient.connect(t, gw.url, { key: made.key });
  const other = await WsClient.connect(t, gw.url, { key: KEYS.a });
  t.same(await ws.closedWithin(10_000), { code: 4001, reason: 'API key expired' });
  t.ok(Date.now() >= expiresAt, 'not before its expiry');
  await other.subscribe({ sub: 's', types: ['*'] });
  t.pass('connections of other keys stay open');
});

t.test('keys survive a NATS restart, and changes made after it reach every instance', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, PUBLISH_TIMEOUT_MS: 1000 });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, PUBLISH_TIMEOUT_MS: 1000 });
  const before = await createKey(a.app, { tenant_id: 'ten_new', scopes: ['read'] });
  await eventually(
    'the key reaches the other instance',
    async () => (await call(b.app, before.key, 'GET', '/v1/event-types')).status,
    (s) => s === 200,
  );

  await nats.kill();
  t.equal((await call(b.app, before.key, 'GET', '/v1/event-types')).status, 200, 'keys keep working while NATS is away');
  const down = await call(a.app, ADMIN, 'POST', '/v1/admin/keys', { tenant_id: 'ten_new', scopes: ['read'] });
  t.equal(down.status, 503, 'an admin write while NATS is away is a 503');
  t.ok(['GW_NATS_UNAVAILABLE', 'GW_NOT_READY', 'GW_PUBLISH_TIMEOUT'].includes(String(down.body.code)), String(down.body.code));

  await nats.restart();
  const after = await eventually(
    'an admin write works again',
    async () => call(a.app, ADMIN, 'POST', '/v1/admin/keys', { tenant_id: 'ten_new', scopes: ['read'] }),
    (r) => r.status === 201,
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  const key = (after.body as { key: string }).key;
  await eventually(
    'a key made after the restart reaches the other instance',
    async () => (await call(b.app, key, 'GET', '/v1/event-types')).status,
    (s) => s === 200,
    { timeoutMs: 20_000 },
  );
  t.same((await call(a.app, ADMIN, 'DELETE', `/v1/admin/keys/${before.key_id}`)).body, { key_id: before.key_id, deleted: true });
  await eventually(
    'a revocation after the restart reaches the other instance',
    async () => (await call(b.app, before.key, 'GET', '/v1/event-types')).status,
    (s) => s === 401,
    { timeoutMs: REVOCATION_MS },
  );
  t.pass('revoked everywhere within 2 s after the restart');
});

t.test('a disabled tenant is refused everywhere with 403 GW_TENANT_DISABLED and its WebSockets are closed (4003)', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, WS_TICKET_SECRET: 's' }, { listen: true });
  const wsA = await WsClient.connect(t, b.url, { key: KEYS.a });
  const wsB = await WsClient.connect(t, b.url, { key: KEYS.b });
  const { ticket } = (await call(b.app, KEYS.a, 'POST', '/v1/ws-tickets')).body as { ticket: string };

  const put = await call(a.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: false, limits: { publish_per_second: 10 } });
  t.match(put, { status: 200, body: { tenant_id: 'ten_a', enabled: false, limits: { publish_per_second: 10 }, updated_at: String } });
  t.same(
    await wsA.closedWithin(REVOCATION_MS + 3000),
    { code: 4003, reason: 'tenant disabled' },
    "the tenant's WebSocket on the other instance is closed",
  );
  t.match(await tryPublish(a.app, KEYS.a), { status: 403, code: 'GW_TENANT_DISABLED' });
  await eventually(
    'the other instance refuses the tenant',
    () => tryPublish(b.app, KEYS.a),
    (r) => r.status === 403,
    { timeoutMs: REVOCATION_MS },
  );
  t.match(await tryPublish(b.app, KEYS.a), { code: 'GW_TENANT_DISABLED' });
  t.match(await call(b.app, KEYS.aRead, 'GET', '/v1/events?types=*'), { status: 403, body: { code: 'GW_TENANT_DISABLED' } });
  t.match(await WsClient.refusal(b.url, { key: KEYS.a }), { status: 403, body: { code: 'GW_TENANT_DISABLED' } }, 'upgrades are refused');
  t.match(await WsClient.refusal(b.url, { ticket }), { status: 403, body: { code: 'GW_TENANT_DISABLED' } }, 'tickets issued before too');
  // Other tenants go on.
  t.equal((await tryPublish(b.app, KEYS.b)).status, 202);
  await publish(b.app, KEYS.b, { id: 'evt_b_live' });
  await wsB.subscribe({ sub: 's', types: ['*'] });
  t.match(await call(b.app, ADMIN, 'GET', '/v1/admin/tenants/ten_a'), {
    status: 200,
    body: { tenant_id: 'ten_a', enabled: false, limits: { publish_per_second: 10 } },
  });
  t.same(
    (await call(b.app, ADMIN, 'GET', '/v1/admin/tenants/ten_b')).body,
    { tenant_id: 'ten_b', enabled: true },
    'never configured: enabled',
  );

  t.equal((await call(b.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: true })).status, 200);
  await eventually(
    'the first instance serves the tenant again',
    () => tryPublish(a.app, KEYS.a),
    (r) => r.status === 202,
  );
  t.same((await call(a.app, ADMIN, 'GET', '/v1/admin/tenants/ten_a')).body.limits, undefined, 'PUT replaces the settings');
});

t.test("a revoked key's WebSockets are closed (4001), those opened with its tickets too", async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, WS_TICKET_SECRET: 's' }, { listen: true });
  const made = await createKey(a.app, { tenant_id: 'ten_a', scopes: ['subscribe'] });
  await eventually(
    'the key works on the other instance',
    async () => (await call(b.app, made.key, 'POST', '/v1/ws-tickets')).status,
    (s) => s === 201,
  );
  const direct = await WsClient.connect(t, b.url, { key: made.key });
  const { ticket } = (await call(b.app, made.key, 'POST', '/v1/ws-tickets')).body as { ticket: string };
  const viaTicket = await WsClient.connect(t, b.url, { ticket });
  const { ticket: unused } = (await call(b.app, made.key, 'POST', '/v1/ws-tickets')).body as { ticket: string };
  const other = await WsClient.connect(t, b.url, { key: KEYS.a });

  t.equal((await call(a.app, ADMIN, 'DELETE', `/v1/admin/keys/${made.key_id}`)).status, 200);
  t.same(await direct.closedWithin(REVOCATION_MS + 3000), { code: 4001, reason: 'API key revoked' });
  t.same(await viaTicket.closedWithin(REVOCATION_MS + 3000), { code: 4001, reason: 'API key revoked' });
  t.match(await WsClient.refusal(b.url, { ticket: unused }), { status: 401 }, "the key's unused tickets are refused");
  await other.subscribe({ sub: 's', types: ['*'] });
  t.pass("the tenant's other connections stay open");
});

t.test('a nats-server that lost its storage: the bucket is made again, its lost keys stop working, new ones work everywhere', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, PUBLISH_TIMEOUT_MS: 1000 });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, PUBLISH_TIMEOUT_MS: 1000 });
  const lost = await createKey(a.app, { tenant_id: 'ten_new', scopes: ['read'] });
  await eventually(
    'the key reaches the other instance',
    async () => (await call(b.app, lost.key, 'GET', '/v1/event-types')).status,
    (s) => s === 200,
  );

  await nats.kill();
  // A fresh server on the same port, with empty storage.
  await startNats(t, { port: nats.port });
  await eventually(
    'the other instance drops the key the bucket no longer holds',
    async () => (await call(b.app, lost.key, 'GET', '/v1/event-types')).status,
    (s) => s === 401,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const after = await eventually(
    'an admin write works again',
    async () => call(a.app, ADMIN, 'POST', '/v1/admin/keys', { tenant_id: 'ten_new', scopes: ['read'] }),
    (r) => r.status === 201,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const key = (after.body as { key: string }).key;
  await eventually(
    'the new key reaches the other instance',
    async () => (await call(b.app, key, 'GET', '/v1/event-types')).status,
    (s) => s === 200,
    {
      timeoutMs: 10_000,
    },
  );
  t.pass('a key made in the new bucket works on both instances');
});
