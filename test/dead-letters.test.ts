// Dead letters over HTTP against a real nats-server: an event delivered max_deliver times is kept
// in the dead letters (listed, not delivered again), and redrive puts it back to that consumer only.
import t from 'tap';
import { type Fetched, ack, call, fetchEvents, publish, putConsumer } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

interface DeadLetter {
  seq: number;
  consumer: string;
  reason: string;
  delivery_count: number;
  original_seq: number;
  event: { id: string; type: string } | null;
}

async function deadLetters(app: Parameters<typeof call>[0], key: string, query = '') {
  const res = await call(app, key, 'GET', `/v1/dead-letters${query}`);
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { dead_letters: DeadLetter[]; next_after_seq?: number };
}

/** Naks every delivery of the consumer until `count` events were dead-lettered (bounded). */
async function exhaust(app: Parameters<typeof call>[0], key: string, name: string, count: number) {
  const deliveries: Fetched[] = [];
  for (let round = 0; round < 20; round++) {
    if ((await deadLetters(app, key, `?consumer=${name}`)).dead_letters.length >= count) break;
    const batch = await fetchEvents(app, key, name, { max: 50, wait_ms: 500 });
    deliveries.push(...batch);
    if (batch.length > 0) await ack(app, key, name, { naks: batch.map((e) => e.ack_token) });
  }
  return deliveries;
}

t.test('max_deliver → dead letter (listed, not delivered again) → redrive → delivered again to that consumer only', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'fragile', { types: ['order.*'], from: 'all', ack_wait: 1000, max_deliver: 2 });
  const stored = await publish(app, KEYS.a, { type: 'order.created' });
  await putConsumer(app, KEYS.a, 'bystander', { types: ['*'], from: 'new' });

  const deliveries = await exhaust(app, KEYS.a, 'fragile', 1);
  t.same(
    deliveries.map((d) => d.delivery),
    [1, 2],
    'a client gets max_deliver deliveries, no more',
  );

  const page = await deadLetters(app, KEYS.a);
  t.equal(page.dead_letters.length, 1);
  const dl = page.dead_letters[0] as DeadLetter;
  t.match(dl, { consumer: 'fragile', reason: 'max_deliver_exceeded', delivery_count: 3, original_seq: stored.seq });
  t.equal(dl.event?.id, stored.id);
  t.same(await fetchEvents(app, KEYS.a, 'fragile', { wait_ms: 1500 }), [], 'never delivered again');
  t.match((await call(app, KEYS.a, 'GET', '/v1/consumers/fragile')).body, { unacked: 0, pending: 0 });

  const redriven = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { seqs: [dl.seq] });
  t.equal(redriven.status, 200, JSON.stringify(redriven.body));
  t.match(redriven.body, { redriven: 1, results: [{ seq: dl.seq, status: 'redriven', consumer: 'fragile' }] });
  t.same((await deadLetters(app, KEYS.a)).dead_letters, [], 'removed from the dead letters');

  const again = await fetchEvents(app, KEYS.a, 'fragile', { wait_ms: 2000 });
  t.same(
    again.map((e) => [e.event.id, e.delivery]),
    [[stored.id, 1]],
    'delivered again, counting afresh',
  );
  t.same((await ack(app, KEYS.a, 'fragile', { acks: [again[0]?.ack_token] })).acks, [{ ok: true }]);
  t.same(await fetchEvents(app, KEYS.a, 'bystander', { wait_ms: 500 }), [], 'no other consumer sees the redriven event');

  const twice = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { seqs: [dl.seq] });
  t.match(twice.body, { redriven: 0, results: [{ seq: dl.seq, status: 'not_found' }] }, 'a dead letter is redriven once');
});

t.test('redrive by filter, paging, and a deleted consumer', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'one', { types: ['order.*', 'resource.*'], from: 'all', ack_wait: 1000, max_deliver: 1 });
  await putConsumer(app, KEYS.a, 'two', { types: ['order.*'], from: 'all', ack_wait: 1000, max_deliver: 1 });
  await publish(app, KEYS.a, { type: 'order.created' });
  await publish(app, KEYS.a, { type: 'order.created' });
  await publish(app, KEYS.a, { type: 'resource.created', data: { id: 'res_1', type: 'virtual_machine', status: 'running' } });
  await exhaust(app, KEYS.a, 'one', 3);
  await exhaust(app, KEYS.a, 'two', 2);

  const all = await deadLetters(app, KEYS.a);
  t.equal(all.dead_letters.length, 5);
  const p1 = await deadLetters(app, KEYS.a, '?limit=2');
  const p2 = await deadLetters(app, KEYS.a, `?limit=2&after_seq=${p1.next_after_seq}`);
  const p3 = await deadLetters(app, KEYS.a, `?limit=2&after_seq=${p2.next_after_seq}`);
  t.same(
    [...p1.dead_letters, ...p2.dead_letters, ...p3.dead_letters].map((d) => d.seq),
    all.dead_letters.map((d) => d.seq),
    'pages cover the list exactly',
  );
  t.equal((await deadLetters(app, KEYS.a, '?consumer=two')).dead_letters.length, 2);

  const byFilter = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: { consumer: 'one', types: ['order.*'] } });
  t.match(byFilter.body, { redriven: 2 });
  const left = (await deadLetters(app, KEYS.a)).dead_letters;
  t.same(left.map((d) => `${d.consumer}:${d.event?.type}`).sort(), ['one:resource.created', 'two:order.created', 'two:order.created']);
  const oneGets = await eventually(
    'consumer one to get its two redriven events',
    () => fetchEvents(app, KEYS.a, 'one', { max: 10, wait_ms: 500 }),
    (evs) => evs.length >= 2,
  );
  t.same(
    oneGets.map((e) => e.event.type),
    ['order.created', 'order.created'],
  );
  t.same(await fetchEvents(app, KEYS.a, 'two', { wait_ms: 300 }), [], 'consumer two got nothing back');

  await call(app, KEYS.a, 'DELETE', '/v1/consumers/two');
  const orphan = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: { consumer: 'two' } });
  t.match(orphan.body, { redriven: 0 });
  const results = orphan.body.results as { status: string; error?: { code: string } }[];
  t.equal(results.length, 2);
  t.ok(
    results.every((r) => r.status === 'failed' && r.error?.code === 'GW_NOT_FOUND'),
    JSON.stringify(results),
  );
  t.equal((await deadLetters(app, KEYS.a, '?consumer=two')).dead_letters.length, 2, 'they stay dead letters');
});

t.test('dead letters are tenant-isolated and scoped', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'x', { types: ['*'], from: 'all', ack_wait: 1000, max_deliver: 1 });
  await publish(app, KEYS.a);
  await exhaust(app, KEYS.a, 'x', 1);
  const [dl] = (await deadLetters(app, KEYS.a)).dead_letters;
  t.ok(dl);

  t.same((await deadLetters(app, KEYS.b)).dead_letters, [], 'ten_b lists none of them');
  t.same((await deadLetters(app, KEYS.b, '?consumer=x')).dead_letters, []);
  const steal = await call(app, KEYS.b, 'POST', '/v1/dead-letters/redrive', { seqs: [dl?.seq] });
  t.match(steal.body, { redriven: 0, results: [{ seq: dl?.seq, status: 'not_found' }] });
  const stealAll = await call(app, KEYS.b, 'POST', '/v1/dead-letters/redrive', { filter: {} });
  t.match(stealAll.body, { redriven: 0, results: [] });
  t.equal((await deadLetters(app, KEYS.a)).dead_letters.length, 1, 'still there for ten_a');

  t.equal((await call(app, KEYS.aRead, 'GET', '/v1/dead-letters')).status, 200, 'read may list');
  const redriveWithRead = await call(app, KEYS.aRead, 'POST', '/v1/dead-letters/redrive', { seqs: [1] });
  t.equal(redriveWithRead.status, 403, 'redrive needs subscribe');
  t.equal((await call(app, KEYS.aSubscribe, 'GET', '/v1/dead-letters')).status, 403, 'listing needs read');
  const bad = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { seqs: [] });
  t.equal(bad.status, 422);
});
