// CloudEvents in: events built with the `cloudevents` SDK, posted in structured, binary and batched
// mode, are stored as the envelopes docs/cloudevents.md describes, with the same answers as the
// native envelope (202, duplicate, 403, 413, 415, 422).
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { CloudEvent, HTTP } from 'cloudevents';
import t from 'tap';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The NATS headers JetStream stored with the event at `seq`. */
async function storedHeaders(natsUrl: string, seq: number): Promise<Record<string, string>> {
  const nc = await connect({ servers: natsUrl });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get('EVENTS', { opt_start_seq: seq });
    const m = await consumer.next({ expires: 5000 });
    const out: Record<string, string> = {};
    for (const [k, v] of m?.headers ?? []) out[k.toLowerCase()] = v.join(',');
    return out;
  } finally {
    await nc.close();
  }
}

t.test('CloudEvents in', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const post = (url: string, headers: Record<string, string>, body: string, key: string = KEYS.a) =>
    app.inject({ method: 'POST', url, headers: { ...auth(key), ...headers }, payload: body });
  const sdkEvent = (overrides: Record<string, unknown> = {}) =>
    new CloudEvent({
      id: `ce-${Math.random().toString(36).slice(2)}`,
      type: 'order.created',
      source: 'billing-service',
      time: '2026-03-15T10:05:22.000Z',
      datacontenttype: 'application/json',
      data: { order_id: 'ord_1' },
      ...overrides,
    });

  await t.test('a structured-mode CloudEvent is stored as the envelope the mapping says, and a repeat is a duplicate', async (t) => {
    const ce = sdkEvent({
      correlationid: 'saga_7',
      causationid: 'evt_cause',
      traceparent: TRACEPARENT,
      tracestate: 'vendor=1',
      region: 'eu',
    });
    const { headers, body } = HTTP.structured(ce);
    t.match(headers['content-type'], /^application\/cloudevents\+json/);
    const res = await post('/v1/events', headers as Record<string, string>, body as string);
    t.equal(res.statusCode, 202, res.body);
    const answer = res.json();
    t.match(answer, { id: ce.id, duplicate: false });
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: answer.seq, max: 1 });
    t.same(stored?.event, {
      id: ce.id,
      type: 'order.created',
      version: '1.0',
      tenant_id: 'ten_a',
      timestamp: '2026-03-15T10:05:22.000Z',
      source: 'billing-service',
      data: { order_id: 'ord_1' },
      metadata: { correlation_id: 'saga_7', causation_id: 'evt_cause', region: 'eu', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
    });
    const natsHeaders = await storedHeaders(nats.url, answer.seq);
    t.equal(natsHeaders.traceparent, TRACEPARENT, 'the trace context travels as NATS headers');
    t.equal(natsHeaders.tracestate, 'vendor=1');

    const again = await post('/v1/events', headers as Record<string, string>, body as string);
    t.equal(again.statusCode, 202);
    t.match(again.json(), { id: ce.id, seq: answer.seq, duplicate: true });
  });

  await t.test('a binary-mode CloudEvent (ce-* headers, JSON data) is stored the same way', async (t) => {
    const ce = sdkEvent({ correlationid: 'saga_8', tenantid: 'ten_a', dataversion: '1.0', subject: 'order ord_1 ünïcode' });
    const { headers, body } = HTTP.binary(ce);
    t.ok(headers['ce-specversion']);
    const res = await post('/v1/events', headers as Record<string, string>, body as string);
    t.equal(res.statusCode, 202, res.body);
    const [stored] = await storedEvents(nats.url, 'events.ten_a.>', { fromSeq: res.json().seq, max: 1 });
    t.match(stored?.event, {
      id: ce.id,
      type: 'order.created',
      tenant_id: 'ten_a',
      timestamp: '2026-03-15T10:05:22.000Z',
      data: { order_id: 'ord_1' },
      metadata: { correlation_id: 'saga_8', subject: 'order ord_1 ünïcode' },
    });
    t.equal(stored?.subject, 'events.ten_a.order.created.saga_8');
    const again = await post('/v1/events', headers as Record<string, string>, body as string);
    t.match(again.json(), { duplicate: true, seq: res.json().seq });
  });

  await t.test('a CloudEvents batch is published entry by entry, failures named by index', async (t) => {
    const good = [sdkEvent(), sdkEvent({ type: 'order.validated', data: { order_id: 'ord_2' } })];
    const bad = sdkEvent({ type: 'order.unheard_of' });
    const body = JSON.stringify([good[0], bad, good[1]]);
    const res = await post('/v1/events/batch', { 'content-type': 'application/cloudevents-batch+json' }, body);
    t.equal(res.statusCode, 200, res.body);
    const answer = res.json();
    t.equal(answer.failed, 1);
    t.match(answer.results[0], { id: good[0]?.id, duplicate: false });
    t.match(answer.results[1], { index: 1, error: { code: 'GW_UNKNOWN_EVENT_TYPE', errors: [{ pointer: '/type' }] } });
    t.match(answer.results[2], { id: good[1]?.id, duplicate: false });
    const empty = await post('/v1/events/batch', { 'content-type': 'application/cloudevents-batch+json' }, '[]');
    t.equal(empty.statusCode, 422);
  });

  await t.test('refusals name the CloudEvent attribute', async (t) => {
    const structured = (ce: Record<string, unknown>) =>
      post('/v1/events', { 'content-type': 'application/cloudevents+json' }, JSON.stringify(ce));
    const base = { specversion: '1.0', id: 'evt_refused', type: 'order.created', source: 'x', data: { order_id: 'o' } };

    const xml = await structured({ ...base, datacontenttype: 'application/xml', data: '<order/>' });
    t.equal(xml.statusCode, 415);
    t.equal(xml.json().code, 'GW_UNSUPPORTED_MEDIA_TYPE');
    const binaryData = await structured({ ...base, data: undefined, data_base64: 'AAEC' });
    t.equal(binaryData.statusCode, 415);
    const binaryXml = await post(
      '/v1/events',
      { 'content-type': 'application/xml', 'ce-specversion': '1.0', 'ce-id': 'x1', 'ce-type': 'order.created', 'ce-source': 's' },
      '<order/>',
    );
    t.equal(binaryXml.statusCode, 415);

    const old = await structured({ ...base, specversion: '0.3' });
    t.equal(old.statusCode, 422);
    t.match(old.json().errors, [{ pointer: '/specversion' }]);
    const oldBinary = await post(
      '/v1/events',
      { 'content-type': 'application/json', 'ce-specversion': '0.3', 'ce-id': 'x1', 'ce-type': 'order.created', 'ce-source': 's' },
      '{"order_id":"o"}',
    );
    t.equal(oldBinary.statusCode, 422);
    t.match(oldBinary.json().errors, [{ pointer: '/specversion' }]);

    const tenant = await structured({ ...base, tenantid: 'ten_b' });
    t.equal(tenant.statusCode, 403);
    t.equal(tenant.json().code, 'GW_TENANT_MISMATCH');
    t.match(tenant.json().errors, [{ pointer: '/tenantid' }]);

    const unknown = await structured({ ...base, type: 'order.unheard_of' });
    t.equal(unknown.statusCode, 422);
    t.equal(unknown.json().code, 'GW_UNKNOWN_EVENT_TYPE');
    const invalidData = await structured({ ...base, data: { nope: 1 } });
    t.equal(invalidData.statusCode, 422);
    t.match(invalidData.json().errors, [{ pointer: '/data/order_id' }]);
    const noData = await structured({ ...base, data: undefined });
    t.equal(noData.statusCode, 422);
    t.match(noData.json().errors, [{ pointer: '/data' }]);
    const badId = await structured({ ...base, id: 'has spaces' });
    t.equal(badId.statusCode, 422);
    t.match(badId.json().errors, [{ pointer: '/id' }]);
    const badTime = await structured({ ...base, time: 'yesterday' });
    t.match(badTime.json().errors, [{ pointer: '/time' }]);
    const badExtension = await structured({ ...base, Bad_Name: 'x' });
    t.equal(badExtension.statusCode, 422);
    const badCorrelation = await structured({ ...base, correlationid: 'a.b' });
    t.match(badCorrelation.json().errors, [{ pointer: '/correlationid' }]);
    const missing = await post(
      '/v1/events',
      { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-type': 'order.created', 'ce-source': 's' },
      '{"order_id":"o"}',
    );
    t.equal(missing.statusCode, 422);
    t.match(missing.json().errors, [{ pointer: '/id' }]);
  });

  await t.test('a CloudEvent too large for the bus is a 413, as an envelope is', async (t) => {
    const ce = {
      specversion: '1.0',
      id: 'evt_big',
      type: 'order.created',
      source: 'x',
      data: { order_id: 'o', pad: 'x'.repeat(1_100_000) },
    };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(KEYS.a), 'content-type': 'application/cloudevents+json' },
      payload: JSON.stringify(ce),
    });
    t.equal(res.statusCode, 413);
  });
});
