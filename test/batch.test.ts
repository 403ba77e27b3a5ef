// Batch publishing: one result per input in input order; valid entries stored despite failures.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('batch publishing', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { BATCH_MAX_EVENTS: 50 });
  const batch = (events: unknown[], key: string = KEYS.a, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/events/batch', headers: { ...auth(key), ...headers }, payload: { events } });

  await t.test('results come in input order, valid entries are stored even when others fail', async (t) => {
    const events = [
      sampleEvent({ id: 'evt_b0' }),
      sampleEvent({ id: 'evt_b1', data: {} }), // invalid data
      { type: 'order.created', source: 's', data: { order_id: 'o2' }, id: 'evt_b2' },
      sampleEvent({ id: 'evt_b3', tenant_id: 'ten_b' }), // foreign tenant
      { type: 'nope.nope', source: 's', data: {} },
      'not an object',
      sampleEvent({ id: 'evt_b6', metadata: { correlation_id: 'c6' } }),
    ];
    const res = await batch(events);
    t.equal(res.statusCode, 200);
    const { results, failed } = res.json() as { results: Record<string, unknown>[]; failed: number };
    t.equal(results.length, events.length);
    t.equal(failed, 4);
    t.match(results[0], { id: 'evt_b0', seq: Number, duplicate: false });
    t.match(results[1], { index: 1, error: { code: 'GW_VALIDATION_FAILED', errors: [{ pointer: '/data/order_id' }] } });
    t.match(results[2], { id: 'evt_b2', seq: Number });
    t.match(results[3], { index: 3, error: { code: 'GW_TENANT_MISMATCH' } });
    t.match(results[4], { index: 4, error: { code: 'GW_UNKNOWN_EVENT_TYPE' } });
    t.match(results[5], { index: 5, error: { code: 'GW_VALIDATION_FAILED' } });
    t.match(results[6], { id: 'evt_b6' });
    const seqs = [results[0], results[2], results[6]].map((r) => r?.seq as number);
    t.ok(new Set(seqs).size === 3, 'distinct sequences');

    const stored = await storedEvents(nats.url, 'events.>');
    t.same(stored.map((s) => (s.event as { id: string }).id).sort(), ['evt_b0', 'evt_b2', 'evt_b6']);
    t.equal((await storedEvents(nats.url, 'events.ten_b.>')).length, 0, 'nothing reached the other tenant');
  });

  await t.test('a batch of distinct events keeps its order in the stream', async (t) => {
    const events = Array.from({ length: 40 }, (_, i) => sampleEvent({ id: `evt_order_${i}`, metadata: { correlation_id: 'ordered' } }));
    const res = await batch(events);
    const { results, failed } = res.json() as { results: { id: string; seq: number }[]; failed: number };
    t.equal(failed, 0);
    t.same(
      results.map((r) => r.id),
      events.map((e) => e.id),
    );
    const stored = await storedEvents(nats.url, 'events.ten_a.*.*.ordered');
    t.same(
      stored.map((s) => (s.event as { id: string }).id),
      events.map((e) => e.id),
      'stream order is input order',
    );
  });

  await t.test('duplicates inside and across batches are stored once', async (t) => {
    const res = await batch([sampleEvent({ id: 'evt_dup_x' }), sampleEvent({ id: 'evt_dup_x' })]);
    const [a, b] = res.json().results as { seq: number; duplicate: boolean }[];
    t.equal(a?.seq, b?.seq);
    t.same([a?.duplicate, b?.duplicate].sort(), [false, true]);
    const again = (await batch([sampleEvent({ id: 'evt_dup_x' })])).json().results[0];
    t.match(again, { seq: a?.seq, duplicate: true });
  });

  await t.test('the header correlation id applies to events without their own', async (t) => {
    const res = await batch([sampleEvent({ id: 'evt_hc_1' })], KEYS.a, { 'x-correlation-id': 'batch_corr' });
    t.equal(res.json().failed, 0);
    const stored = await storedEvents(nats.url, 'events.ten_a.*.*.batch_corr');
    t.same(
      stored.map((s) => (s.event as { id: string }).id),
      ['evt_hc_1'],
    );
  });

  await t.test('request-level problems reject the whole batch', async (t) => {
    t.match((await batch([])).json(), { status: 422, code: 'GW_VALIDATION_FAILED', errors: [{ pointer: '/events' }] });
    const tooMany = await batch(Array.from({ length: 51 }, () => sampleEvent()));
    t.equal(tooMany.statusCode, 422);
    t.equal(tooMany.json().code, 'GW_BATCH_TOO_LARGE');
    const noEvents = await app.inject({ method: 'POST', url: '/v1/events/batch', headers: auth(KEYS.a), payload: { items: [] } });
    t.equal(noEvents.statusCode, 422);
    t.equal((await batch([sampleEvent()], KEYS.aRead)).statusCode, 403);
    t.equal((await app.inject({ method: 'POST', url: '/v1/events/batch', payload: { events: [sampleEvent()] } })).statusCode, 401);
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
      body: '{"events": [',
    });
    t.equal(malformed.json().code, 'GW_MALFORMED_JSON');
  });
});
