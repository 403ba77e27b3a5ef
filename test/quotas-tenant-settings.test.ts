// Per-tenant limits set through the admin API are the quota overrides (issue #13): a tenant given a
// publish limit with PUT /v1/admin/tenants/{id} is held to it on another instance, other tenants are
// not, and clearing the limits lifts it again.
import t from 'tap';
import { call } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const ADMIN = 'bootstrap-admin-key-for-quota-tests';

const event = (i: number) => ({ id: `q_${i}_${Date.now()}`, type: 'order.created', source: 'quota-test', data: { order_id: `o_${i}`, amount: 1, currency: 'EUR' } });

t.test('limits in the tenant settings are enforced on every instance, and lifted again', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });

  // No limits yet: a burst of 20 on B is accepted.
  for (let i = 0; i < 20; i++) t.equal((await call(b.app, KEYS.a, 'POST', '/v1/events', event(i))).status, 202);

  const put = await call(a.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: true, limits: { publish_per_second: 2, publish_burst: 2 } });
  t.equal(put.status, 200, 'limits stored through instance A');

  // Instance B sees the settings and refuses past the burst.
  const refused = await eventually(
    'instance B to hold ten_a to 2 events/s',
    async () => {
      let last = await b.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.a}` }, payload: event(100) });
      for (let i = 1; i < 5 && last.statusCode !== 429; i++) {
        last = await b.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.a}` }, payload: event(100 + i) });
      }
      return last;
    },
    (res) => res.statusCode === 429,
    { timeoutMs: 10_000, intervalMs: 200 },
  );
  t.equal(refused.json().code, 'GW_RATE_LIMITED', 'over the limit: 429 GW_RATE_LIMITED');
  t.ok(refused.headers['retry-after'], 'Retry-After');
  t.match(String(refused.headers['ratelimit-policy']), /"publish";q=2;w=1/, 'RateLimit-Policy from the tenant settings');

  // Another tenant has no limit.
  for (let i = 0; i < 10; i++) t.equal((await call(b.app, KEYS.b, 'POST', '/v1/events', event(300 + i))).status, 202, 'ten_b unaffected');

  // Limits cleared: the tenant publishes freely again.
  t.equal((await call(a.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: true })).status, 200);
  await eventually(
    'instance B to lift the limit',
    async () => {
      let ok = 0;
      for (let i = 0; i < 10; i++) if ((await call(b.app, KEYS.a, 'POST', '/v1/events', event(400 + i))).status === 202) ok++;
      return ok;
    },
    (ok) => ok === 10,
    { timeoutMs: 10_000, intervalMs: 200 },
  );
});
