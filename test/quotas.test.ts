// Per-tenant quotas on one instance: publish and read rates (token buckets, a batch counting its
// entries), concurrent WebSocket connections (refused with 429 before upgrading) and subscriptions
// (an error frame), durable consumers; per-tenant overrides from a provider; the refusal hook;
// 429 GW_RATE_LIMITED as problem+json with Retry-After and the RateLimit / RateLimit-Policy fields.
import t from 'tap';
import { call, putConsumer } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

type Inject = Awaited<ReturnType<typeof startGateway>>['app']['inject'];

const publishOne = (inject: Inject, key: string) =>
  inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload: sampleEvent() });

t.test('quotas', async (t) => {
  const nats = await startNats(t);

  await t.test('unlimited by default: no RateLimit fields, nothing refused', async (t) => {
    const { app } = await startGateway(t, nats.url);
    for (let i = 0; i < 20; i++) {
      const res = await publishOne(app.inject.bind(app), KEYS.a);
      t.equal(res.statusCode, 202);
      t.equal(res.headers.ratelimit, undefined);
    }
    t.same(app.quotas.limitsOf('ten_a'), app.quotas.defaults);
  });

  await t.test('publish rate: burst, then 429 with Retry-After and the RateLimit fields; other tenants unaffected', async (t) => {
    const refusals: [string, string][] = [];
    const { app } = await startGateway(
      t,
      nats.url,
      { QUOTA_PUBLISH_PER_SECOND: 1, QUOTA_PUBLISH_BURST: 5 },
      { quotas: { onRateLimited: (tenant, limit) => refusals.push([tenant, limit]) } },
    );
    const started = Date.now();
    let accepted = 0;
    let refused: Awaited<ReturnType<Inject>> | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await publishOne(app.inject.bind(app), KEYS.a);
      if (res.statusCode === 202) {
        accepted++;
        t.equal(res.headers['ratelimit-policy'], '"publish";q=1;w=1', 'the policy on every answer');
        t.match(res.headers.ratelimit, /^"publish";r=\d+;t=\d+$/);
      } else refused = res;
    }
    const elapsedS = (Date.now() - started) / 1000;
    t.ok(
      accepted >= 5 && accepted <= 5 + Math.ceil(elapsedS) + 1,
      `the burst of 5, plus 1/s refill (accepted ${accepted} in ${elapsedS} s)`,
    );
    t.ok(refused, 'refused once the burst is used up');
    if (!refused) return;
    t.equal(refused.statusCode, 429);
    t.match(refused.headers['content-type'], /^application\/problem\+json/);
    t.match(refused.json(), { status: 429, code: 'GW_RATE_LIMITED', type: 'urn:platforma:gateway:problem:rate-limited' });
    t.match(refused.headers['retry-after'], /^[1-9]\d*$/);
    t.equal(refused.headers['ratelimit-policy'], '"publish";q=1;w=1');
    t.equal(refused.headers.ratelimit, `"publish";r=0;t=${refused.headers['retry-after']}`);
    t.same(refusals[0], ['ten_a', 'publish'], 'the refusal hook hears tenant and limit');
    t.equal((await publishOne(app.inject.bind(app), KEYS.b)).statusCode, 202, 'another tenant has its own bucket');
  });

  await t.test('a batch counts its entries and is admitted or refused whole', async (t) => {
    const { app } = await startGateway(t, nats.url, { QUOTA_PUBLISH_PER_SECOND: 1, QUOTA_PUBLISH_BURST: 10 });
    const batch = (n: number) =>
      app.inject({
        method: 'POST',
        url: '/v1/events/batch',
        headers: auth(KEYS.a),
        payload: { events: Array.from({ length: n }, () => sampleEvent()) },
      });
    const first = await batch(8);
    t.equal(first.statusCode, 200);
    t.equal(first.json().failed, 0);
    const second = await batch(8);
    t.equal(second.statusCode, 429, '8 more do not fit in what is left of the burst of 10');
    t.equal(second.json().code, 'GW_RATE_LIMITED');
  });

  await t.test('overrides from the provider replace the defaults per tenant', async (t) => {
    const overrides = new Map<string, { publish_per_second?: number; publish_burst?: number }>([
      ['ten_b', { publish_per_second: 1, publish_burst: 2 }],
    ]);
    const { app } = await startGateway(
      t,
      nats.url,
      { QUOTA_PUBLISH_PER_SECOND: 1000 },
      { quotas: { overrides: (tenant) => overrides.get(tenant) } },
    );
    t.match(app.quotas.limitsOf('ten_b'), { publish_per_second: 1, publish_burst: 2, reads_per_second: 0 });
    t.match(app.quotas.limitsOf('ten_a'), { publish_per_second: 1000 });
    overrides.set('ten_c', { publish_per_second: 7 });
    t.match(app.quotas.limitsOf('ten_c'), { publish_per_second: 7, publish_burst: 0 }, 'a rate without a burst: the burst is the rate');
    const codes: number[] = [];
    for (let i = 0; i < 10 && !codes.includes(429); i++) codes.push((await publishOne(app.inject.bind(app), KEYS.b)).statusCode);
    t.ok(codes.includes(429), `ten_b is held to its override (${codes.join(',')})`);
    for (let i = 0; i < 10; i++) t.equal((await publishOne(app.inject.bind(app), KEYS.a)).statusCode, 202);
  });

  await t.test('a plugin registered later can set the override provider and the refusal hook', async (t) => {
    const refused: string[] = [];
    const { app } = await startGateway(
      t,
      nats.url,
      {},
      {
        beforeReady: (app) => {
          t.notOk(app.quotas.active, 'nothing limited yet');
          app.quotas.setOverrides((tenant) => (tenant === 'ten_b' ? { publish_per_second: 1, publish_burst: 1 } : undefined));
          app.quotas.setOnRateLimited((tenant, limit) => refused.push(`${tenant}:${limit}`));
        },
      },
    );
    t.ok(app.quotas.active);
    const codes: number[] = [];
    for (let i = 0; i < 10 && !codes.includes(429); i++) codes.push((await publishOne(app.inject.bind(app), KEYS.b)).statusCode);
    t.ok(codes.includes(429), `held to the override (${codes.join(',')})`);
    t.same(refused, ['ten_b:publish']);
  });

  await t.test('history and correlation reads', async (t) => {
    const { app } = await startGateway(t, nats.url, { QUOTA_READS_PER_SECOND: 1 });
    const read = (url: string) => app.inject({ method: 'GET', url, headers: auth(KEYS.a) });
    const first = await read('/v1/events?limit=1');
    t.equal(first.statusCode, 200);
    t.equal(first.headers['ratelimit-policy'], '"reads";q=1;w=1');
    let refused: Awaited<ReturnType<Inject>> | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await read(i % 2 ? '/v1/events?limit=1' : '/v1/correlations/req_none');
      if (res.statusCode === 429) refused = res;
    }
    t.equal(refused?.json().code, 'GW_RATE_LIMITED');
    t.match(refused?.headers.ratelimit, /^"reads";r=0;t=\d+$/);
  });

  await t.test('WebSocket connections: over the limit the upgrade is refused with 429, a closed one frees its place', async (t) => {
    const { url, app } = await startGateway(t, nats.url, { QUOTA_WS_CONNECTIONS: 2 }, { listen: true });
    const one = await WsClient.connect(t, url, { key: KEYS.a });
    await WsClient.connect(t, url, { key: KEYS.a });
    const refusal = await WsClient.refusal(url, { key: KEYS.a });
    t.equal(refusal.status, 429);
    t.match(refusal.contentType, /^application\/problem\+json/);
    t.equal(refusal.body.code, 'GW_RATE_LIMITED');
    t.match(refusal.headers['retry-after'], /^[1-9]\d*$/);
    t.equal(refusal.headers['ratelimit-policy'], '"ws_connections";q=2;qu="concurrent-requests"');
    t.match(refusal.headers.ratelimit, /^"ws_connections";r=0;t=\d+$/);
    await WsClient.connect(t, url, { key: KEYS.b }).then((c) => t.ok(c, 'another tenant connects'));
    one.socket.close();
    await one.closed;
    const again = await eventually('a place to be free again', () =>
      WsClient.connect(t, url, { key: KEYS.a }).then(
        (c) => c,
        () => undefined,
      ),
    );
    t.ok(again, 'connected once the first one closed');
    t.equal(app.quotas.instances, 1);
  });

  await t.test('subscriptions across a tenant’s connections: an error frame over the limit, a place back on unsubscribe', async (t) => {
    const { url } = await startGateway(t, nats.url, { QUOTA_SUBSCRIPTIONS: 2 }, { listen: true });
    const a = await WsClient.connect(t, url, { key: KEYS.a });
    const b = await WsClient.connect(t, url, { key: KEYS.a });
    await a.subscribe({ sub: 's1', types: ['*'] });
    await b.subscribe({ sub: 's2', types: ['order.*'], from: 'all' });
    a.send({ op: 'subscribe', sub: 's3', types: ['*'] });
    const refused = await a.next((f) => f.sub === 's3');
    t.match(refused, { op: 'error', sub: 's3', code: 'GW_RATE_LIMITED' });
    b.send({ op: 'unsubscribe', sub: 's2' });
    await b.next((f) => f.op === 'unsubscribed' && f.sub === 's2');
    await a.subscribe({ sub: 's3', types: ['*'] }).then((f) => t.equal(f.op, 'subscribed', 'the freed place is taken'));
    const other = await WsClient.connect(t, url, { key: KEYS.b });
    await other.subscribe({ sub: 'x', types: ['*'] }).then((f) => t.equal(f.op, 'subscribed', 'another tenant subscribes'));
  });

  await t.test('durable consumers: creating one more is refused, existing ones keep working', async (t) => {
    const { app, url } = await startGateway(t, nats.url, { QUOTA_DURABLE_CONSUMERS: 2 }, { listen: true });
    t.equal((await putConsumer(app, KEYS.a, 'c1', { types: ['*'] })).status, 201);
    t.equal((await putConsumer(app, KEYS.a, 'c2', { types: ['*'] })).status, 201);
    const third = await putConsumer(app, KEYS.a, 'c3', { types: ['*'] });
    t.equal(third.status, 429);
    t.equal(third.body.code, 'GW_RATE_LIMITED');
    t.equal((await putConsumer(app, KEYS.a, 'c1', { types: ['order.*'] })).status, 200, 'an existing one is updated');
    const ws = await WsClient.connect(t, url, { key: KEYS.a });
    ws.send({ op: 'subscribe', sub: 'g', types: ['*'], group: 'g3' });
    t.match(await ws.next((f) => f.sub === 'g'), { op: 'error', code: 'GW_RATE_LIMITED' }, 'a new WebSocket group too');
    await ws.subscribe({ sub: 'g1', types: ['*'], group: 'c2' }).then((f) => t.equal(f.op, 'subscribed', 'an existing group is joined'));
    t.equal((await putConsumer(app, KEYS.b, 'c1', { types: ['*'] })).status, 201, 'another tenant counts its own');
    t.equal((await call(app, KEYS.a, 'DELETE', '/v1/consumers/c1')).status, 200);
    t.equal((await putConsumer(app, KEYS.a, 'c3', { types: ['*'] })).status, 201, 'room again after a delete');
  });
});
