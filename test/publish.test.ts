// Publishing one event: what is stored, what the server fills in, and dedupe.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('publishing', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const post = (payload: unknown, headers: Record<string, string> = {}, key: string = KEYS.a) =>
    app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth(key), ...headers }, payload: payload as object });

  await t.test('answers 202 only with what JetStream stored, and stores the full envelope', async (t) => {
    const res = await post(
      sampleEvent({
        id: 'evt_full_1',
        version: '1.0',
        tenant_id: 'ten_a',
        timestamp: '2026-03-15T10:05:22Z',
        metadata: { correlation_id: 'req_abc123', trace_id: 'trace_def456' },
      }),
    );
    t.equal(res.statusCode, 202);
    const body = res.json();
    t.match(body, { id: 'evt_full_1', stream: 'EVENTS', duplicate: false });
    t.type(body.seq, 'number');
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: body.seq, max: 1 });
    t.equal(stored?.subject, 'events.ten_a.order.provisioned.req_abc123', 'tenant, type and correlation are subject tokens');
    t.same(stored?.event, {
      id: 'evt_full_1',
      type: 'order.provisioned',
      version: '1.0',
      tenant_id: 'ten_a',
      timestamp: '2026-03-15T10:05:22Z',
      source: 'provisioning-service',
      data: sampleEvent().data,
      metadata: { correlation_id: 'req_abc123', trace_id: 'trace_def456' },
    });
  });

  await t.test('fills id, timestamp, tenant_id, version and correlation_id when omitted', async (t) => {
    const before = Date.now();
    const res = await post(sampleEvent());
    t.equal(res.statusCode, 202);
    const { id, seq } = res.json();
    t.match(id, /^evt_[0-9A-Z]{26}$/);
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: seq, max: 1 });
    const event = stored?.event as Record<string, unknown> & { metadata: Record<string, string> };
    t.equal(event.id, id);
    t.equal(event.tenant_id, 'ten_a');
    t.equal(event.version, '1.0');
    t.equal(event.metadata.correlation_id, id, 'the correlation id defaults to the event id');
    t.notOk('trace_id' in event.metadata);
    const ts = Date.parse(event.timestamp as string);
    t.ok(ts >= before - 1000 && ts <= Date.now() + 1000, 'timestamp is now');
  });

  await t.test('takes the correlation id from X-Correlation-Id and the trace id from traceparent', async (t) => {
    const res = await post(sampleEvent(), {
      'x-correlation-id': 'saga_42',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    t.equal(res.statusCode, 202);
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: res.json().seq, max: 1 });
    t.same((stored!.event as { metadata: unknown }).metadata, { correlation_id: 'saga_42', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    t.equal(stored?.subject, 'events.ten_a.order.provisioned.saga_42');
  });

  await t.test("the envelope's own metadata wins over the headers; a malformed traceparent is ignored", async (t) => {
    const res = await post(sampleEvent({ metadata: { correlation_id: 'own_corr' } }), {
      'x-correlation-id': 'header_corr',
      traceparent: 'garbage',
    });
    t.equal(res.statusCode, 202);
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: res.json().seq, max: 1 });
    t.same((stored!.event as { metadata: unknown }).metadata, { correlation_id: 'own_corr' });
  });

  await t.test('the same id from the same tenant is stored once', async (t) => {
    const first = await post(sampleEvent({ id: 'evt_dupe_1' }));
    const again = await post(sampleEvent({ id: 'evt_dupe_1' }));
    t.equal(first.statusCode, 202);
    t.equal(again.statusCode, 202);
    t.equal(first.json().duplicate, false);
    t.equal(again.json().duplicate, true);
    t.equal(again.json().seq, first.json().seq, 'the duplicate answers with the original seq');
    const stored = await storedEvents(nats.url, 'events.ten_a.>');
    t.equal(stored.filter((s) => (s.event as { id: string }).id === 'evt_dupe_1').length, 1);
  });

  await t.test('the same id from two tenants is two events', async (t) => {
    const a = await post(sampleEvent({ id: 'evt_shared_id' }), {}, KEYS.a);
    const b = await post(sampleEvent({ id: 'evt_shared_id' }), {}, KEYS.b);
    t.equal(a.statusCode, 202);
    t.equal(b.statusCode, 202);
    t.equal(b.json().duplicate, false);
    t.not(a.json().seq, b.json().seq);
    const [inB] = await storedEvents(nats.url, 'events.ten_b.>');
    t.equal((inB!.event as { tenant_id: string }).tenant_id, 'ten_b');
  });

  await t.test('a key with only the publish scope can publish', async (t) => {
    const res = await post(sampleEvent(), {}, KEYS.aPublish);
    t.equal(res.statusCode, 202);
  });

  await t.test('every response carries a request id', async (t) => {
    const res = await post(sampleEvent(), { 'x-request-id': 'my-request-7' });
    t.equal(res.headers['x-request-id'], 'my-request-7');
  });
});
