// Webhook subscriptions against a real nats-server and real HTTP receivers on 127.0.0.1: the
// resource (create, read, list, update, delete, scopes, tenants), signed delivery verified with the
// standardwebhooks package, pause / resume, secret rotation, and the addresses refused at PUT.
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { call, publish } from './helpers/consumers.ts';
import { putWebhook } from './helpers/webhooks.ts';
import { eventually, waitOut } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { type Received, startReceiver, verify } from './helpers/webhook-receiver.ts';

const LOCAL = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true };

t.test('a webhook delivers each event once, signed per Standard Webhooks, with the stored envelope as body', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const receiver = await startReceiver(t);

  const created = await putWebhook(app, KEYS.a, 'orders', { url: `${receiver.url}/hook`, types: ['order.*'] });
  t.equal(created.status, 201, JSON.stringify(created.body));
  const secret = created.body.secret as string;
  t.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  t.ok(Buffer.from(secret.slice('whsec_'.length), 'base64').length >= 24, 'at least 24 random bytes');
  t.match(created.body, {
    name: 'orders',
    state: 'active',
    types: ['order.*'],
    max_in_flight: 10,
    from: 'new',
    retry: { max_attempts: 10 },
  });

  const published: { id: string }[] = [];
  for (let i = 0; i < 5; i++) published.push(await publish(app, KEYS.a, { type: 'order.created', data: { order_id: `o${i}` } }));
  await publish(app, KEYS.a, { type: 'invoice.paid', data: { invoice_id: 'i1', amount: 1, currency: 'EUR' } }); // not selected
  await publish(app, KEYS.b, { type: 'order.created', data: { order_id: 'other-tenant' } }); // another tenant's

  await eventually(
    '5 deliveries',
    () => receiver.deliveredIds().size,
    (n) => n >= 5,
    { timeoutMs: 20_000 },
  );
  t.same([...receiver.deliveredIds()].sort(), published.map((p) => p.id).sort(), 'exactly the selected events of the tenant');
  for (const r of receiver.received) {
    t.equal(r.path, '/hook');
    t.equal(r.headers['content-type'], 'application/json');
    t.match(r.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/, 'one signature');
    const envelope = verify(secret, r) as { id: string; tenant_id: string };
    t.equal(envelope.id, r.id, 'webhook-id is the event id');
    t.equal(envelope.tenant_id, 'ten_a');
    t.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 60, 'webhook-timestamp is now, in seconds');
  }
  const stored = await call(app, KEYS.a, 'GET', `/v1/events?types=order.created&limit=10`);
  const first = (stored.body.events as { event: { id: string } }[]).find((e) => e.event.id === receiver.received[0]?.id);
  t.ok(first, 'the delivered event is stored');
  t.same(JSON.parse(receiver.received[0]?.body ?? '{}'), first?.event, 'the body is the stored envelope');
  t.throws(
    () => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, receiver.received[0] as never),
    'another secret does not verify',
  );

  const got = await call(app, KEYS.a, 'GET', '/v1/webhooks/orders');
  t.equal(got.status, 200);
  t.notOk('secret' in got.body, 'the secret is answered only at creation');
  await eventually(
    'the lag to drain',
    async () => (await call(app, KEYS.a, 'GET', '/v1/webhooks/orders')).body,
    (b) => b.lag === 0 && (b.last_delivered_seq as number) > 0,
  );

  const again = await putWebhook(app, KEYS.a, 'orders', {
    url: `${receiver.url}/other`,
    types: ['order.*'],
    max_in_flight: 3,
  });
  t.equal(again.status, 200, 'an update answers 200');
  t.notOk('secret' in again.body, 'and no secret');
  t.match(again.body, { url: `${receiver.url}/other`, max_in_flight: 3 });
  const next = await publish(app, KEYS.a, { type: 'order.created' });
  await eventually('delivery to the new URL', () => receiver.received.find((r) => r.id === next.id));
  t.equal(receiver.received.find((r) => r.id === next.id)?.path, '/other');
  verify(secret, receiver.received.find((r) => r.id === next.id) as never);

  const list = await call(app, KEYS.a, 'GET', '/v1/webhooks');
  t.match(list.body, { webhooks: [{ name: 'orders', state: 'active' }] });
  await eventually(
    'the attempts to be recorded',
    async () => (await call(app, KEYS.a, 'GET', '/v1/webhooks/orders/attempts')).body.attempts as { outcome: string }[],
    (a) => a.length >= 6,
  );
  const attempts = (await call(app, KEYS.a, 'GET', '/v1/webhooks/orders/attempts?limit=2')).body.attempts as Record<string, unknown>[];
  t.equal(attempts.length, 2);
  t.match(attempts[0], { event_id: next.id, status: 200, outcome: 'delivered', attempt: 1 });

  const deleted = await call(app, KEYS.a, 'DELETE', '/v1/webhooks/orders');
  t.same(deleted.body, { name: 'orders', deleted: true });
  t.equal((await call(app, KEYS.a, 'GET', '/v1/webhooks/orders')).status, 404);
  t.same((await call(app, KEYS.a, 'DELETE', '/v1/webhooks/orders')).body, { name: 'orders', deleted: false });
  const count = receiver.received.length;
  await publish(app, KEYS.a, { type: 'order.created' });
  await waitOut(1000, 'a deleted webhook must not deliver');
  t.equal(receiver.received.length, count, 'nothing after delete');

  const recreated = await putWebhook(app, KEYS.a, 'orders', { url: `${receiver.url}/again`, types: ['order.*'] });
  t.equal(recreated.status, 201, 'the name can be used again, with a new secret');
  t.not(recreated.body.secret, secret);
  const fresh = await publish(app, KEYS.a, { type: 'order.created' });
  const r = (await eventually('delivery by the new webhook', () => receiver.received.find((x) => x.id === fresh.id))) as Received;
  t.equal(r.path, '/again');
  verify(recreated.body.secret as string, r);
});

t.test('scopes and tenants: subscribe manages, each tenant sees only its own webhooks', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const ra = await startReceiver(t);
  const rb = await startReceiver(t);
  const body = (url: string) => ({ url, types: ['*'] });
  t.equal((await putWebhook(app, KEYS.aPublish, 'x', body(ra.url))).status, 403, 'publish-only key refused');
  t.equal((await call(app, KEYS.aRead, 'GET', '/v1/webhooks')).status, 403, 'read-only key refused');
  t.equal((await putWebhook(app, KEYS.aSubscribe, 'x', body(ra.url))).status, 201);
  t.equal((await call(app, KEYS.b, 'GET', '/v1/webhooks/x')).status, 404, "another tenant's webhook is not found");
  t.same((await call(app, KEYS.b, 'GET', '/v1/webhooks')).body, { webhooks: [] });
  t.equal((await call(app, KEYS.b, 'POST', '/v1/webhooks/x/pause')).status, 404);
  t.equal((await call(app, KEYS.b, 'POST', '/v1/webhooks/x/rotate-secret')).status, 404);
  t.equal((await call(app, KEYS.b, 'GET', '/v1/webhooks/x/attempts')).status, 404);
  t.same((await call(app, KEYS.b, 'DELETE', '/v1/webhooks/x')).body, { name: 'x', deleted: false }, 'nor deleted');
  t.equal((await putWebhook(app, KEYS.b, 'x', body(rb.url))).status, 201, 'the same name is free for another tenant');

  const ea = await publish(app, KEYS.a, { type: 'order.created' });
  const eb = await publish(app, KEYS.b, { type: 'order.created' });
  await eventually('both deliveries', () => ra.deliveredIds().has(ea.id) && rb.deliveredIds().has(eb.id), Boolean, { timeoutMs: 20_000 });
  await waitOut(500, 'a stray cross-tenant delivery would arrive');
  t.same([...ra.deliveredIds()], [ea.id], "tenant a's webhook gets only a's event");
  t.same([...rb.deliveredIds()], [eb.id], "tenant b's webhook gets only b's event");
  t.match((await call(app, KEYS.a, 'GET', '/v1/webhooks')).body, { webhooks: [{ name: 'x', url: ra.url }] });
});

t.test('pause stops delivery on the instance, resume delivers what waited', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const receiver = await startReceiver(t);
  t.equal((await putWebhook(app, KEYS.a, 'p', { url: receiver.url, types: ['*'], max_in_flight: 1 })).status, 201);
  const first = await publish(app, KEYS.a);
  await eventually('the first delivery', () => receiver.deliveredIds().has(first.id));
  const paused = await call(app, KEYS.a, 'POST', '/v1/webhooks/p/pause');
  t.match(paused.body, { state: 'paused', state_reason: 'paused through the API' });
  // The dispatcher applies the change through its watch: give it a moment, then publish.
  await waitOut(500, 'the pause to reach the dispatcher');
  const waiting: { id: string }[] = [];
  for (let i = 0; i < 3; i++) waiting.push(await publish(app, KEYS.a));
  await waitOut(1500, 'a paused webhook must not deliver');
  t.equal(receiver.received.length, 1, 'nothing while paused');
  t.match((await call(app, KEYS.a, 'GET', '/v1/webhooks/p')).body, { state: 'paused', pending: 3 });
  t.match((await call(app, KEYS.a, 'POST', '/v1/webhooks/p/resume')).body, { state: 'active' });
  await eventually('what waited to be delivered', () => waiting.every((w) => receiver.deliveredIds().has(w.id)), Boolean, {
    timeoutMs: 20_000,
  });
  t.same(
    receiver.received.slice(1).map((r) => r.id),
    waiting.map((w) => w.id),
    'in order (max_in_flight 1)',
  );
});

t.test('rotating the secret: both secrets sign during the window, each verifies with standardwebhooks', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const receiver = await startReceiver(t);
  const created = await putWebhook(app, KEYS.a, 'r', { url: receiver.url, types: ['*'] });
  const oldSecret = created.body.secret as string;
  const rotated = await call(app, KEYS.a, 'POST', '/v1/webhooks/r/rotate-secret');
  t.equal(rotated.status, 200);
  const newSecret = rotated.body.secret as string;
  t.not(newSecret, oldSecret);
  const window = Date.parse(rotated.body.previous_secret_expires_at as string) - Date.now();
  t.ok(window > 23 * 3_600_000 && window <= 24 * 3_600_000, 'the default window is 24 h');
  t.match((await call(app, KEYS.a, 'GET', '/v1/webhooks/r')).body, { previous_secret_expires_at: rotated.body.previous_secret_expires_at });

  await waitOut(500, 'the rotation to reach the dispatcher');
  const e = await publish(app, KEYS.a);
  const r = (await eventually('the delivery', () => receiver.received.find((x) => x.id === e.id))) as Received;
  const signatures = String(r.headers['webhook-signature']).split(' ');
  t.equal(signatures.length, 2, 'two signatures, space-separated');
  t.ok(verify(newSecret, r), 'the new secret verifies');
  t.ok(verify(oldSecret, r), 'the old secret verifies');
  const one = (secret: string) => new Webhook(secret).sign(r.id, new Date(Number(r.headers['webhook-timestamp']) * 1000), r.body);
  t.same(signatures, [one(newSecret), one(oldSecret)], 'the new secret first');
});

t.test('a rotation window of 0 signs with the new secret only', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { ...LOCAL, WEBHOOK_SECRET_ROTATION_WINDOW: 0 });
  const receiver = await startReceiver(t);
  const created = await putWebhook(app, KEYS.a, 'r0', { url: receiver.url, types: ['*'] });
  const rotated = await call(app, KEYS.a, 'POST', '/v1/webhooks/r0/rotate-secret');
  await waitOut(500, 'the rotation to reach the dispatcher');
  const e = await publish(app, KEYS.a);
  const r = (await eventually('the delivery', () => receiver.received.find((x) => x.id === e.id))) as Received;
  t.equal(String(r.headers['webhook-signature']).split(' ').length, 1);
  t.ok(verify(rotated.body.secret as string, r));
  t.throws(() => verify(created.body.secret as string, r), 'the old secret no longer verifies');
});

t.test('URLs refused at PUT: private, loopback, link-local and metadata addresses, http, credentials', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url); // no WEBHOOK_ALLOWED_HOSTS, https only
  const put = (url: string) => putWebhook(app, KEYS.a, 'ssrf', { url, types: ['*'] });
  for (const url of [
    'https://10.0.0.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://127.0.0.1:8443/',
    'https://[::1]/',
    'https://[::ffff:10.0.0.1]/',
    'https://[fd00:ec2::254]/',
    'https://192.168.1.10/',
    'https://172.16.0.5/',
    'https://100.100.100.200/',
    'https://0.0.0.0/',
    'https://2130706433/', // 127.0.0.1 in disguise
    'https://localhost/',
  ]) {
    const res = await put(url);
    t.equal(res.status, 422, `${url} refused`);
    t.equal(res.body.code, 'GW_WEBHOOK_URL_REFUSED', url);
  }
  const http = await put('http://93.184.216.34/hook');
  t.match(http, { status: 422, body: { code: 'GW_WEBHOOK_URL_REFUSED' } }, 'plain http refused without WEBHOOK_ALLOW_HTTP');
  t.match(await put('https://user:pw@93.184.216.34/'), { status: 422, body: { code: 'GW_WEBHOOK_URL_REFUSED' } }, 'credentials refused');
  t.match(await put('ftp://93.184.216.34/'), { status: 422 });
  t.equal((await call(app, KEYS.a, 'GET', '/v1/webhooks/ssrf')).status, 404, 'nothing was created');
  t.same((await call(app, KEYS.a, 'GET', '/v1/webhooks')).body, { webhooks: [] });
});
