// HTTP pull consumers against a real nats-server: definition, long-poll fetch, ack/nak by token,
// redelivery, token checks, two gateway instances serving one consumer, tenant isolation.
import t from 'tap';
import { ack, call, fetchEvents, publish, putConsumer } from './helpers/consumers.ts';
import { eventually, waitOut } from './helpers/eventually.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { consumerInfo } from './helpers/stream.ts';

const SECRET = { ACK_TOKEN_SECRET: 'shared-test-secret' };

t.test('PUT creates, repeats idempotently, updates; GET describes; DELETE is idempotent', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const def = { types: ['order.*'], from: 'all', ack_wait: 2000, max_deliver: 3, filter: { source: ['provisioning-service'] } };

  const created = await putConsumer(app, KEYS.a, 'orders', def);
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.match(created.body, { name: 'orders', types: ['order.*'], from: 'all', ack_wait: 2000, max_deliver: 3, pending: 0, unacked: 0 });
  t.same(created.body.filter, def.filter);

  const again = await putConsumer(app, KEYS.a, 'orders', def);
  t.equal(again.status, 200);
  t.equal(again.body.created, created.body.created, 'the same consumer');

  const updated = await putConsumer(app, KEYS.a, 'orders', { types: ['order.created', 'invoice.paid'], max_deliver: 4 });
  t.equal(updated.status, 200);
  t.same(updated.body.types, ['invoice.paid', 'order.created']);
  t.equal(updated.body.max_deliver, 4);
  t.equal(updated.body.filter, undefined, 'the filter was removed');
  t.equal(updated.body.from, 'all', 'the position is kept');

  await publish(app, KEYS.a, { type: 'order.created' });
  await publish(app, KEYS.a, { type: 'order.cancelled' });
  const got = await call(app, KEYS.a, 'GET', '/v1/consumers/orders');
  t.equal(got.status, 200);
  t.equal(got.body.pending, 1, 'only order.created is on its subjects now');
  t.equal(got.body.last_delivered_seq, 0);

  const deleted = await call(app, KEYS.a, 'DELETE', '/v1/consumers/orders');
  t.same(deleted.body, { name: 'orders', deleted: true });
  t.same((await call(app, KEYS.a, 'DELETE', '/v1/consumers/orders')).body, { name: 'orders', deleted: false });
  const gone = await call(app, KEYS.a, 'GET', '/v1/consumers/orders');
  t.equal(gone.status, 404);
  t.equal(gone.body.code, 'GW_NOT_FOUND');
  t.equal((await call(app, KEYS.a, 'POST', '/v1/consumers/orders/fetch', {})).status, 404);
});

t.test('bad definitions are refused with pointers', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const cases: [string, unknown, number, string, string][] = [
    ['ok', { types: [] }, 422, 'GW_VALIDATION_FAILED', '/types'],
    ['ok', { types: ['order.>'] }, 422, 'GW_VALIDATION_FAILED', '/types/0'],
    ['ok', { types: ['*'], ack_wait: 5 }, 422, 'GW_VALIDATION_FAILED', '/ack_wait'],
    ['ok', { types: ['*'], from: 'yesterday' }, 422, 'GW_VALIDATION_FAILED', '/from'],
    ['ok', { types: ['*'], extra: 1 }, 422, 'GW_VALIDATION_FAILED', '/extra'],
    ['ok', { types: ['*'], filter: { data: { n: [{ numeric: ['>>', 1] }] } } }, 422, 'GW_INVALID_FILTER', '/filter/data/n/0/numeric/0'],
    ['bad.name', { types: ['*'] }, 400, 'GW_INVALID_REQUEST', 'params/name'],
  ];
  for (const [name, body, status, code, pointer] of cases) {
    const res = await putConsumer(app, KEYS.a, name, body as Record<string, unknown>);
    t.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    t.equal(res.body.code, code);
    const errors = (res.body.errors ?? []) as { pointer: string }[];
    t.ok(
      errors.some((e) => e.pointer === pointer),
      `points at ${pointer}: ${JSON.stringify(errors)}`,
    );
  }
  t.equal((await call(app, KEYS.a, 'GET', '/v1/consumers/ok')).status, 404, 'nothing was created');
  const tooMany = await call(app, KEYS.a, 'POST', '/v1/consumers/ok/fetch', { max: 100_000 });
  t.equal(tooMany.status, 422);
});

t.test('fetch, ack, nak: delivery counts and redelivery', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'work', { types: ['order.*'], from: 'all', ack_wait: 1000 });
  const stored = [];
  for (let i = 0; i < 3; i++) stored.push(await publish(app, KEYS.a, { type: 'order.created', data: { order_id: `ord_${i}` } }));

  const first = await fetchEvents(app, KEYS.a, 'work', { max: 10, wait_ms: 1000 });
  t.same(
    first.map((e) => e.event.id),
    stored.map((s) => s.id),
  );
  t.same(
    first.map((e) => e.seq),
    stored.map((s) => s.seq),
  );
  t.ok(first.every((e) => e.delivery === 1));
  const [a, b] = first;
  const settled = await ack(app, KEYS.a, 'work', { acks: [a?.ack_token], naks: [b?.ack_token] });
  t.same(settled, { acks: [{ ok: true }], naks: [{ ok: true }] });

  const second = await fetchEvents(app, KEYS.a, 'work', { max: 10, wait_ms: 500 });
  t.same(
    second.map((e) => [e.event.id, e.delivery]),
    [[b?.event.id, 2]],
    'the nak-ed event comes back at once, counted',
  );

  // The third was neither acked nor nak-ed: it comes back after the ack wait.
  const later = await eventually(
    'the unacknowledged event after its ack wait',
    () => fetchEvents(app, KEYS.a, 'work', { max: 10, wait_ms: 500 }),
    (evs) => evs.length > 0,
  );
  const ids = later.map((e) => [e.event.id, e.delivery]);
  t.ok(
    ids.some(([id, d]) => id === first[2]?.event.id && d === 2),
    `redelivered after ack wait: ${JSON.stringify(ids)}`,
  );
  t.notOk(
    ids.some(([id]) => id === a?.event.id),
    'the acked event never returns',
  );

  const delayed = later.find((e) => e.event.id === first[2]?.event.id);
  const started = Date.now();
  await ack(app, KEYS.a, 'work', { naks: [{ token: delayed?.ack_token, delay_ms: 700 }] });
  const afterDelay = await eventually(
    'the delayed nak to be redelivered',
    () => fetchEvents(app, KEYS.a, 'work', { max: 10, wait_ms: 300 }),
    (evs) => evs.some((e) => e.event.id === delayed?.event.id),
  );
  t.ok(
    afterDelay.some((e) => e.event.id === delayed?.event.id),
    'a delayed nak is redelivered',
  );
  t.ok(Date.now() - started >= 600, `not before its delay (${Date.now() - started} ms)`);
});

t.test('the content filter drops events on the gateway, acked, never returned', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'big', {
    types: ['invoice.*'],
    from: 'all',
    filter: { data: { amount: [{ numeric: ['>', 100] }] } },
  });
  const small = await publish(app, KEYS.a, { type: 'invoice.generated', data: { invoice_id: 'inv_1', amount: 5, currency: 'EUR' } });
  const big = await publish(app, KEYS.a, { type: 'invoice.generated', data: { invoice_id: 'inv_2', amount: 500, currency: 'EUR' } });
  const fetched = await fetchEvents(app, KEYS.a, 'big', { max: 10, wait_ms: 1000 });
  t.same(
    fetched.map((e) => e.event.id),
    [big.id],
  );
  await ack(app, KEYS.a, 'big', { acks: [fetched[0]?.ack_token] });
  const info = await call(app, KEYS.a, 'GET', '/v1/consumers/big');
  t.equal(info.body.unacked, 0, 'the filtered-out event was acked by the gateway');
  t.equal(info.body.ack_floor_seq, big.seq);
  t.ok(small.seq < big.seq);
  t.same(await fetchEvents(app, KEYS.a, 'big', { wait_ms: 0 }), []);
});

t.test('fetch long-polls: it answers as soon as an event arrives, else after wait_ms', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'poll', { types: ['*'] });

  let started = Date.now();
  t.same(await fetchEvents(app, KEYS.a, 'poll', { wait_ms: 400 }), []);
  const waited = Date.now() - started;
  t.ok(waited >= 350 && waited < 3000, `an empty fetch waited ${waited} ms`);

  started = Date.now();
  const pending = fetchEvents(app, KEYS.a, 'poll', { max: 10, wait_ms: 10_000 });
  await eventually(
    'the fetch to wait inside JetStream',
    () => consumerInfo(nats.url, 'gwt5_ten_a_poll'),
    (i) => i.num_waiting > 0,
  );
  const stored = await publish(app, KEYS.a);
  const got = await pending;
  const took = Date.now() - started;
  t.same(
    got.map((e) => e.event.id),
    [stored.id],
  );
  t.ok(took < 5000, `answered ${took} ms after the call, not after wait_ms`);

  started = Date.now();
  t.same(await fetchEvents(app, KEYS.a, 'poll', { wait_ms: 0 }), []);
  t.ok(Date.now() - started < 1000, 'wait_ms 0 answers at once');
});

t.test('ack tokens: expired, forged, foreign and garbage tokens are refused clearly', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, SECRET);
  const other = await startGateway(t, nats.url, { ACK_TOKEN_SECRET: 'another-deployment' });
  await putConsumer(app, KEYS.a, 'tok', { types: ['*'], from: 'all', ack_wait: 1000 });
  await putConsumer(app, KEYS.a, 'tok2', { types: ['*'], from: 'all', ack_wait: 1000 });
  await putConsumer(app, KEYS.b, 'tok', { types: ['*'], from: 'all', ack_wait: 1000 });
  await publish(app, KEYS.a);
  const [e] = await fetchEvents(app, KEYS.a, 'tok', { wait_ms: 1000 });
  const token = e?.ack_token as string;
  const [body, mac] = token.split('.') as [string, string];

  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), t: 'ten_b' })).toString(
    'base64url',
  );
  const refusals: [string, Promise<{ acks: { ok: boolean; error?: { code: string; message: string } }[] }>, string][] = [
    ['garbage', ack(app, KEYS.a, 'tok', { acks: ['not-a-token'] }), 'GW_INVALID_ACK_TOKEN'],
    ['a flipped signature', ack(app, KEYS.a, 'tok', { acks: [`${body}.${mac.slice(0, -2)}AA`] }), 'GW_INVALID_ACK_TOKEN'],
    ['a rewritten payload', ack(app, KEYS.a, 'tok', { acks: [`${forgedPayload}.${mac}`] }), 'GW_INVALID_ACK_TOKEN'],
    ['another consumer', ack(app, KEYS.a, 'tok2', { acks: [token] }), 'GW_INVALID_ACK_TOKEN'],
    ['another tenant, same name', ack(app, KEYS.b, 'tok', { acks: [token] }), 'GW_INVALID_ACK_TOKEN'],
    ['another deployment', ack(other.app, KEYS.a, 'tok', { acks: [token] }), 'GW_INVALID_ACK_TOKEN'],
  ];
  for (const [what, p, code] of refusals) {
    const res = await p;
    t.equal(res.acks[0]?.ok, false, what);
    t.equal(res.acks[0]?.error?.code, code, `${what}: ${String(res.acks[0]?.error?.message)}`);
  }
  const info = await call(app, KEYS.a, 'GET', '/v1/consumers/tok');
  t.equal(info.body.unacked, 1, 'no refused token acked anything');

  // The token carries its ack deadline: cross it (the only way to make a token expire).
  await waitOut(Math.max(0, Date.parse(e?.ack_deadline as string) - Date.now()) + 50, 'the ack token to expire');
  const late = await ack(app, KEYS.a, 'tok', { acks: [token] });
  t.equal(late.acks[0]?.error?.code, 'GW_ACK_TOKEN_EXPIRED', String(late.acks[0]?.error?.message));
  const redelivered = await fetchEvents(app, KEYS.a, 'tok', { wait_ms: 2000 });
  t.same(
    redelivered.map((r) => [r.event.id, r.delivery]),
    [[e?.event.id, 2]],
    'the expired event is redelivered',
  );
  const fresh = await ack(app, KEYS.a, 'tok', { acks: [redelivered[0]?.ack_token] });
  t.same(fresh.acks, [{ ok: true }]);
});

t.test('two gateway instances serve one consumer alternately: no loss, no duplicates', async (t) => {
  const nats = await startNats(t);
  const one = await startGateway(t, nats.url, SECRET);
  const two = await startGateway(t, nats.url, SECRET);
  await putConsumer(one.app, KEYS.a, 'shared', { types: ['order.*'], from: 'all', ack_wait: 5000 });
  const stored = [];
  for (let i = 0; i < 20; i++) stored.push((await publish(i % 2 ? one.app : two.app, KEYS.a, { type: 'order.created' })).id);

  const seen: string[] = [];
  for (let round = 0; round < 20 && seen.length < stored.length; round++) {
    const [fetcher, acker] = round % 2 ? [two.app, one.app] : [one.app, two.app];
    const batch = await fetchEvents(fetcher, KEYS.a, 'shared', { max: 3, wait_ms: 1000 });
    t.ok(
      batch.every((e) => e.delivery === 1),
      `round ${round}: first deliveries only`,
    );
    seen.push(...batch.map((e) => e.event.id));
    const res = await ack(acker, KEYS.a, 'shared', { acks: batch.map((e) => e.ack_token) });
    t.ok(
      res.acks.every((a) => a.ok),
      `round ${round}: acked on the other instance`,
    );
  }
  t.same(seen, stored, 'every event once, in order');
  t.same(await fetchEvents(one.app, KEYS.a, 'shared', { wait_ms: 300 }), []);
  const info = await call(two.app, KEYS.a, 'GET', '/v1/consumers/shared');
  t.match(info.body, { pending: 0, unacked: 0, redelivered: 0 });
});

t.test('tenants never see, fetch from, ack for or delete each other’s consumers', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, SECRET);
  await putConsumer(app, KEYS.a, 'same', { types: ['*'], from: 'all' });
  const aEvent = await publish(app, KEYS.a);

  t.equal((await call(app, KEYS.b, 'GET', '/v1/consumers/same')).status, 404);
  t.equal((await call(app, KEYS.b, 'POST', '/v1/consumers/same/fetch', { wait_ms: 0 })).status, 404);
  t.same((await call(app, KEYS.b, 'DELETE', '/v1/consumers/same')).body, { name: 'same', deleted: false });
  t.equal((await call(app, KEYS.a, 'GET', '/v1/consumers/same')).status, 200, 'still there');

  // ten_b's consumer of the same name is its own, and sees only ten_b's events.
  const created = await putConsumer(app, KEYS.b, 'same', { types: ['*'], from: 'all' });
  t.equal(created.status, 201);
  const bEvent = await publish(app, KEYS.b);
  const bGot = await fetchEvents(app, KEYS.b, 'same', { wait_ms: 1000 });
  t.same(
    bGot.map((e) => e.event.id),
    [bEvent.id],
  );
  t.ok(bGot.every((e) => e.event.tenant_id === 'ten_b'));
  const aGot = await fetchEvents(app, KEYS.a, 'same', { wait_ms: 1000 });
  t.same(
    aGot.map((e) => e.event.id),
    [aEvent.id],
  );

  // A ten_a token is useless to ten_b, even against ten_b's own consumer of that name.
  const res = await ack(app, KEYS.b, 'same', { acks: [aGot[0]?.ack_token] });
  t.equal(res.acks[0]?.error?.code, 'GW_INVALID_ACK_TOKEN');
  t.equal((await call(app, KEYS.a, 'GET', '/v1/consumers/same')).body.unacked, 1);
});

t.test('consumer endpoints need the subscribe scope', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  for (const key of [KEYS.aPublish, KEYS.aRead]) {
    const res = await putConsumer(app, key, 'x', { types: ['*'] });
    t.equal(res.status, 403);
    t.equal(res.body.code, 'GW_FORBIDDEN_SCOPE');
  }
  t.equal((await putConsumer(app, KEYS.aSubscribe, 'x', { types: ['*'] })).status, 201);
  t.equal((await call(app, 'no-such-key', 'GET', '/v1/consumers/x')).status, 401);
});

t.test('while NATS is down consumer calls answer 503 (acks per token); afterwards the consumer carries on', async (t) => {
  let nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { ...SECRET, PUBLISH_TIMEOUT_MS: 1000, RETRY_AFTER_SECONDS: 3 });
  await putConsumer(app, KEYS.a, 'durable', { types: ['*'], from: 'all', ack_wait: 5000 });
  const stored = await publish(app, KEYS.a);
  const [held] = await fetchEvents(app, KEYS.a, 'durable', { wait_ms: 1000 });
  t.equal(held?.event.id, stored.id);

  await nats.kill();
  for (const [method, url, body] of [
    ['GET', '/v1/consumers/durable', undefined],
    ['POST', '/v1/consumers/durable/fetch', { wait_ms: 0 }],
    ['PUT', '/v1/consumers/durable', { types: ['*'] }],
    ['GET', '/v1/dead-letters', undefined],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth(KEYS.a), ...(body ? { payload: body } : {}) });
    t.equal(res.statusCode, 503, `${method} ${url}: ${res.body}`);
    t.equal(res.headers['retry-after'], '3');
    t.ok(['GW_NATS_UNAVAILABLE', 'GW_PUBLISH_TIMEOUT'].includes(res.json().code), res.json().code);
  }
  const down = await ack(app, KEYS.a, 'durable', { acks: [held?.ack_token] });
  t.equal(down.acks[0]?.ok, false);
  t.ok(['GW_NATS_UNAVAILABLE', 'GW_PUBLISH_TIMEOUT'].includes(String(down.acks[0]?.error?.code)), JSON.stringify(down.acks[0]));

  nats = await nats.restart();
  const info = await eventually(
    'the consumer to answer after the NATS restart',
    () => call(app, KEYS.a, 'GET', '/v1/consumers/durable'),
    (r) => r.status === 200,
    { timeoutMs: 20_000 },
  );
  t.equal(info.status, 200, 'the consumer survived the restart');
  const again = await eventually(
    'the unacknowledged event to be redelivered after the restart',
    () => fetchEvents(app, KEYS.a, 'durable', { wait_ms: 1000 }),
    (evs) => evs.length > 0,
    { timeoutMs: 15_000 },
  );
  t.same(
    again.map((e) => [e.event.id, e.delivery]),
    [[stored.id, 2]],
    'the unacknowledged event is redelivered',
  );
  t.same((await ack(app, KEYS.a, 'durable', { acks: [again[0]?.ack_token] })).acks, [{ ok: true }]);
});

t.test('a client hanging up mid-poll does not strand the events that poll still receives', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, SECRET, { listen: true });
  await putConsumer(gw.app, KEYS.a, 'hangup', { types: ['*'], ack_wait: 60_000 });

  const abort = new AbortController();
  const abandoned = fetch(`${gw.url}/v1/consumers/hangup/fetch`, {
    method: 'POST',
    headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
    body: JSON.stringify({ wait_ms: 4000 }),
    signal: abort.signal,
  }).catch((err: unknown) => err);
  await eventually(
    'the poll to wait inside JetStream',
    () => consumerInfo(nats.url, 'gwt5_ten_a_hangup'),
    (i) => i.num_waiting > 0,
  );
  abort.abort();
  await abandoned;
  await eventually(
    'the gateway to see the client hang up',
    () => new Promise<number>((resolve, reject) => gw.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    (open) => open === 0,
  );
  // The abandoned poll is still waiting inside JetStream: it gets this event first.
  const stored = await publish(gw.app, KEYS.a);

  const started = Date.now();
  const got = await eventually(
    'the event the abandoned poll received, handed back',
    () => fetchEvents(gw.app, KEYS.a, 'hangup', { wait_ms: 1000 }),
    (evs) => evs.length > 0,
    { timeoutMs: 10_000 },
  );
  t.same(
    got.map((e) => [e.event.id, e.delivery]),
    [[stored.id, 2]],
    'handed back at once as a second delivery',
  );
  t.ok(Date.now() - started < 10_000, `not after the 60 s ack wait (${Date.now() - started} ms)`);
});
