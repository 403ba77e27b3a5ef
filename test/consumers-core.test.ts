// The shared consumer core (src/bus/durable-consumers.ts, src/bus/dead-letters.ts) against a real
// nats-server, without HTTP: what WebSocket groups and HTTP pull consumers both rely on.
import t, { type Test } from 'tap';
import { deadLetterIfExhausted, ensureDeadLetterStream, listDeadLetters, redriveDeadLetters } from '../src/bus/dead-letters.ts';
import {
  consumerSubjects,
  DEAD_LETTER_ATTEMPTS,
  deleteDurableConsumer,
  describeConsumer,
  durableName,
  ensureDurableConsumer,
  getDurableConsumer,
} from '../src/bus/durable-consumers.ts';
import { busInternals } from '../src/bus/testing.ts';
import type { GatewayError } from '../src/errors.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

async function publish(app: Awaited<ReturnType<typeof startGateway>>['app'], key: string, body: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload: body });
  if (res.statusCode !== 202) throw new Error(`publish failed: ${res.body}`);
  return res.json() as { id: string; seq: number };
}

async function rejectsWith(t: Test, p: Promise<unknown>, code: string, pointer?: string) {
  try {
    await p;
    t.fail(`expected ${code}`);
  } catch (err) {
    t.equal((err as GatewayError).code, code, (err as Error).message);
    if (pointer)
      t.ok(
        (err as GatewayError).errors?.some((e) => e.pointer === pointer),
        `points at ${pointer}`,
      );
  }
}

t.test('overlapping type patterns collapse into valid filter subjects', async (t) => {
  t.same(consumerSubjects('events', 'ten_a', 'g', ['order.created', 'order.*', 'invoice.paid']), [
    'events.ten_a.invoice.paid.*',
    'events.ten_a.order.*.*',
    'events_redrive.ten_a.g',
  ]);
  t.same(consumerSubjects('events', 'ten_a', 'g', ['order.created', '*']), ['events.ten_a.>', 'events_redrive.ten_a.g']);
});

t.test('durable consumers: create, idempotent ensure, update, describe, delete', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);

  const first = await ensureDurableConsumer(bus, 'ten_a', 'billing', {
    types: ['order.*'],
    filter: { data: { order_id: [{ prefix: 'ord_' }] } },
    from: 'all',
    ackWaitMs: 2000,
    maxDeliver: 3,
  });
  t.equal(first.outcome, 'created');
  t.equal(first.durable, durableName('ten_a', 'billing'));
  t.equal(first.maxDeliver, 3);
  t.equal(first.ackWaitMs, 2000);
  const info = await bus.jsm.consumers.info(bus.config.STREAM_NAME, first.durable);
  t.equal(info.config.max_deliver, 3 + DEAD_LETTER_ATTEMPTS, 'JetStream delivers more than allowed: those deliveries are dead-lettered');

  const again = await ensureDurableConsumer(bus, 'ten_a', 'billing', {
    types: ['order.*'],
    filter: { data: { order_id: [{ prefix: 'ord_' }] } },
    ackWaitMs: 2000,
    maxDeliver: 3,
  });
  t.equal(again.outcome, 'unchanged');

  const updated = await ensureDurableConsumer(bus, 'ten_a', 'billing', { types: ['invoice.paid'], maxDeliver: 2 });
  t.equal(updated.outcome, 'updated');
  t.same(updated.types, ['invoice.paid']);
  t.equal(updated.filter, undefined);
  t.equal(updated.maxDeliver, 2);
  t.same(updated.from, 'all', 'updates keep the start position');

  // Any instance rebuilds the consumer from JetStream alone.
  const got = await getDurableConsumer(bus, 'ten_a', 'billing');
  t.same(got?.types, ['invoice.paid']);
  t.equal(got?.ackWaitMs, bus.config.CONSUMER_ACK_WAIT, 'an omitted ack wait takes the configured default');

  const described = await describeConsumer(bus, 'ten_a', 'billing');
  t.equal(described?.pending, 0);
  t.equal(described?.unacked, 0);
  t.equal(described?.max_deliver, 2);

  t.equal(await getDurableConsumer(bus, 'ten_b', 'billing'), undefined, 'another tenant does not see it');
  t.equal(await deleteDurableConsumer(bus, 'ten_b', 'billing'), false, 'nor delete it');
  t.ok(await getDurableConsumer(bus, 'ten_a', 'billing'));
  t.equal(await deleteDurableConsumer(bus, 'ten_a', 'billing'), true);
  t.equal(await getDurableConsumer(bus, 'ten_a', 'billing'), undefined);
  t.equal(await deleteDurableConsumer(bus, 'ten_a', 'billing'), false);
});

t.test('racing ensures of one consumer all succeed and leave one consumer', async (t) => {
  const nats = await startNats(t);
  const one = await startGateway(t, nats.url);
  const two = await startGateway(t, nats.url);
  const spec = { types: ['order.created'], maxDeliver: 4 };
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => ensureDurableConsumer(busInternals((i % 2 ? one : two).app.bus), 'ten_a', 'race', spec)),
  );
  t.ok(results.some((r) => r.outcome === 'created'));
  t.ok(results.every((r) => r.maxDeliver === 4));
  const names = [];
  for await (const c of busInternals(one.app.bus).jsm.consumers.list(one.config.STREAM_NAME)) names.push(c.name);
  t.same(names, [durableName('ten_a', 'race')]);
});

t.test('tenant ten_a + x and tenant ten + a_x are two JetStream consumers (names are injective)', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  // The old `gw_ten_a_x` was both tenant `ten_a` + name `x` and tenant `ten` + name `a_x`.
  const x = await ensureDurableConsumer(bus, 'ten_a', 'x', { types: ['*'] });
  t.equal(await getDurableConsumer(bus, 'ten', 'a_x'), undefined);
  const ax = await ensureDurableConsumer(bus, 'ten', 'a_x', { types: ['*'] });
  t.not(ax.durable, x.durable);
  t.same([x.durable, ax.durable], ['gwt5_ten_a_x', 'gwt3_ten_a_x']);
  t.equal(await deleteDurableConsumer(bus, 'ten', 'a_x'), true);
  t.ok(await getDurableConsumer(bus, 'ten_a', 'x'), 'still there for its owner');
});

t.test('invalid specs are refused with pointers', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  await rejectsWith(t, ensureDurableConsumer(bus, 'ten_a', 'bad.name', { types: ['*'] }), 'GW_INVALID_REQUEST', 'name');
  await rejectsWith(t, ensureDurableConsumer(bus, 'ten_a', 'ok', { types: [] }), 'GW_VALIDATION_FAILED', '/types');
  await rejectsWith(t, ensureDurableConsumer(bus, 'ten_a', 'ok', { types: ['order.>'] }), 'GW_VALIDATION_FAILED', '/types/0');
  await rejectsWith(t, ensureDurableConsumer(bus, 'ten_a', 'ok', { types: ['*'], ackWaitMs: 10 }), 'GW_VALIDATION_FAILED', '/ack_wait');
  await rejectsWith(t, ensureDurableConsumer(bus, 'ten_a', 'ok', { types: ['*'], maxDeliver: 0 }), 'GW_VALIDATION_FAILED', '/max_deliver');
  await rejectsWith(
    t,
    ensureDurableConsumer(bus, 'ten_a', 'ok', { types: ['*'], from: { seq: 0 } as never }),
    'GW_VALIDATION_FAILED',
    '/from',
  );
  await rejectsWith(
    t,
    ensureDurableConsumer(bus, 'ten_a', 'ok', { types: ['*'], filter: { data: { a: [{ bogus: 1 }] } } }),
    'GW_INVALID_FILTER',
    '/filter/data/a/0/bogus',
  );
  t.equal(await getDurableConsumer(bus, 'ten_a', 'ok'), undefined, 'nothing was created');
});

t.test('start positions: new, all, seq and time', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  await publish(app, KEYS.a, sampleEvent());
  const second = await publish(app, KEYS.a, sampleEvent());
  const cases: [string, Parameters<typeof ensureDurableConsumer>[3]['from'], number][] = [
    ['new', 'new', 0],
    ['all', 'all', 2],
    ['seq', { seq: second.seq }, 1],
    ['time', { time: new Date(Date.now() + 3_600_000).toISOString() }, 0],
  ];
  for (const [name, from, pending] of cases) {
    await ensureDurableConsumer(bus, 'ten_a', name, { types: ['*'], from });
    t.equal((await describeConsumer(bus, 'ten_a', name))?.pending, pending, `from ${name}`);
  }
});

t.test('an exhausted delivery is dead-lettered once and never delivered again', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  const c = await ensureDurableConsumer(bus, 'ten_a', 'dlq', { types: ['*'], from: 'all', ackWaitMs: 1000, maxDeliver: 2 });
  const stored = await publish(app, KEYS.a, sampleEvent());
  const consumer = await bus.js.consumers.get(bus.config.STREAM_NAME, c.durable);

  const deliveries: number[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await consumer.next({ expires: 5000 });
    if (!m) break;
    deliveries.push(m.info.deliveryCount);
    const exhausted = await deadLetterIfExhausted(bus, m, c);
    t.equal(exhausted, m.info.deliveryCount > 2, `delivery ${m.info.deliveryCount}`);
    if (!exhausted) m.nak();
  }
  t.same(deliveries, [1, 2, 3]);
  t.equal(await consumer.next({ expires: 1500 }), null, 'terminated: nothing more');

  const page = await listDeadLetters(bus, 'ten_a', { limit: 10 });
  t.equal(page.dead_letters.length, 1);
  const dl = page.dead_letters[0];
  t.equal(dl?.consumer, 'dlq');
  t.equal(dl?.original_seq, stored.seq);
  t.equal(dl?.delivery_count, 3);
  t.equal(dl?.reason, 'max_deliver_exceeded');
  t.equal(dl?.event?.id, stored.id);
  t.same((await listDeadLetters(bus, 'ten_b', { limit: 10 })).dead_letters, [], 'another tenant sees none');
});

t.test('a dead letter that could not be stored is retried on a later delivery, not lost', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  const c = await ensureDurableConsumer(bus, 'ten_a', 'retry', { types: ['*'], from: 'all', ackWaitMs: 1000, maxDeliver: 1 });
  const stored = await publish(app, KEYS.a, sampleEvent());
  const consumer = await bus.js.consumers.get(bus.config.STREAM_NAME, c.durable);

  const first = await consumer.next({ expires: 5000 });
  t.equal(await deadLetterIfExhausted(bus, first as NonNullable<typeof first>, c), false);
  first?.nak();

  await bus.jsm.streams.delete(bus.config.DEAD_LETTER_STREAM);
  const second = await consumer.next({ expires: 5000 });
  t.equal(second?.info.deliveryCount, 2);
  await rejectsWith(t, deadLetterIfExhausted(bus, second as NonNullable<typeof second>, c), 'GW_NATS_UNAVAILABLE');

  await ensureDeadLetterStream(bus);
  const third = await consumer.next({ expires: 5000 });
  t.equal(third?.info.deliveryCount, 3, 'redelivered after the ack wait');
  t.equal(await deadLetterIfExhausted(bus, third as NonNullable<typeof third>, c), true);
  const page = await listDeadLetters(bus, 'ten_a', { limit: 10 });
  t.same(
    page.dead_letters.map((d) => [d.original_seq, d.delivery_count]),
    [[stored.seq, 3]],
  );
});

t.test('a consumer deleted and made again stores a second dead letter for the same event', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const bus = busInternals(app.bus);
  const stored = await publish(app, KEYS.a, sampleEvent());
  const spec = { types: ['*'], from: 'all' as const, ackWaitMs: 1000, maxDeliver: 1 };

  const exhaustOnce = async () => {
    const c = await ensureDurableConsumer(bus, 'ten_a', 'again', spec);
    const consumer = await bus.js.consumers.get(bus.config.STREAM_NAME, c.durable);
    for (let i = 0; i < 6; i++) {
      const m = await consumer.next({ expires: 3000 });
      if (!m) break;
      if (await deadLetterIfExhausted(bus, m, c)) {
        if (m.info.streamSequence === stored.seq) return;
        continue;
      }
      if (m.info.streamSequence === stored.seq) m.nak();
      else m.ack();
    }
  };

  await exhaustOnce();
  const [first] = (await listDeadLetters(bus, 'ten_a', { limit: 10 })).dead_letters;
  t.equal(first?.original_seq, stored.seq);
  const redriven = await redriveDeadLetters(bus, 'ten_a', { seqs: [first?.seq as number] });
  t.equal(redriven[0]?.status, 'redriven');
  t.ok(await deleteDurableConsumer(bus, 'ten_a', 'again'));

  await exhaustOnce();
  const after = (await listDeadLetters(bus, 'ten_a', { limit: 10 })).dead_letters;
  t.same(
    after.map((d) => d.original_seq),
    [stored.seq],
    'the second exhaustion is kept too, not deduplicated away',
  );
});
