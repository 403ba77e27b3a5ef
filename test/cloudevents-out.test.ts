// CloudEvents out: WebSocket subscriptions, HTTP fetches and history pages give CloudEvents on
// request, the `cloudevents` SDK parses them (structured, batch, binary), and a parsed event posted
// back is recognised as the same event (a duplicate).
import { type CloudEvent, HTTP } from 'cloudevents';
import t from 'tap';
import { toBinaryCloudEvent } from '../src/cloudevents.ts';
import type { EventEnvelope } from '../schemas/envelope.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { eventually } from './helpers/eventually.ts';
import { SseClient } from './helpers/sse-client.ts';
import { WsClient } from './helpers/ws-client.ts';

t.test('CloudEvents out', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const { app } = gw;
  const publish = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: body });
    t.equal(res.statusCode, 202, res.body);
    return res.json() as { id: string; seq: number };
  };
  const repost = async (message: { headers: Record<string, unknown>; body: unknown }) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(KEYS.a), ...(message.headers as Record<string, string>) },
      payload: message.body as string,
    });
    return res;
  };
  const envelope = {
    id: 'evt_out_1',
    type: 'order.created',
    source: 'order-service',
    timestamp: '2026-03-15T10:05:22Z',
    data: { order_id: 'ord_out' },
    metadata: { correlation_id: 'saga_out', causation_id: 'evt_cause', region: 'eu', trace_id: 'trace_1', not_an_attr_name: 'x' },
  };

  await t.test(
    'a WebSocket subscription with format "cloudevents" gets CloudEvents the SDK reads; posted back, each is a duplicate',
    async (t) => {
      const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
      await ws.subscribe({ op: 'subscribe', sub: 'ce', types: ['order.*'], format: 'cloudevents' });
      await ws.subscribe({ op: 'subscribe', sub: 'env', types: ['order.*'] });
      const stored = await publish(envelope);
      const [frame] = await ws.events('ce', 1);
      const [plain] = await ws.events('env', 1);
      t.match(plain?.event, { tenant_id: 'ten_a' }, 'the default format is still the envelope');
      const ce = HTTP.toEvent({
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(frame?.event),
      }) as CloudEvent;
      t.equal(ce.specversion, '1.0');
      t.equal(ce.id, 'evt_out_1');
      t.equal(ce.type, 'order.created');
      t.equal(ce.source, 'order-service');
      t.equal(new Date(ce.time as string).toISOString(), '2026-03-15T10:05:22.000Z');
      t.same(ce.data, { order_id: 'ord_out' });
      t.equal(ce.tenantid, 'ten_a');
      t.equal(ce.dataversion, '1.0');
      t.equal(ce.correlationid, 'saga_out');
      t.equal(ce.causationid, 'evt_cause');
      t.equal(ce.traceid, 'trace_1');
      t.equal(ce.region, 'eu');
      t.notOk('not_an_attr_name' in ((frame?.event ?? {}) as object), 'metadata keys that are no attribute names are left out');

      const structured = await repost(HTTP.structured(ce));
      t.equal(structured.statusCode, 202, structured.body);
      t.match(structured.json(), { id: 'evt_out_1', seq: stored.seq, duplicate: true });
      const binary = await repost(HTTP.binary(ce));
      t.equal(binary.statusCode, 202, binary.body);
      t.match(binary.json(), { id: 'evt_out_1', seq: stored.seq, duplicate: true });
    },
  );

  await t.test('a Server-Sent Events stream with format=cloudevents carries CloudEvents the SDK reads', async (t) => {
    const sse = await SseClient.open(t, gw.url, { key: KEYS.a, query: { types: 'order.validated', format: 'cloudevents' } });
    t.equal(sse.status, 200);
    const plain = await SseClient.open(t, gw.url, { key: KEYS.a, query: { types: 'order.validated' } });
    const stored = await publish({ type: 'order.validated', source: 'sse-ce', data: { order_id: 'ord_sse' } });
    await eventually('both streams to carry the event', () => sse.events.length + plain.events.length, (n) => n >= 2, { timeoutMs: 10_000 });
    const [record] = sse.events;
    t.equal(record?.id, stored.seq, 'id: is the stream sequence');
    t.equal(record?.event, 'order.validated', 'event: is the type');
    const ce = HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(record?.envelope) }) as CloudEvent;
    t.match(ce, { specversion: '1.0', id: stored.id, type: 'order.validated', source: 'sse-ce', tenantid: 'ten_a' });
    t.same(ce.data, { order_id: 'ord_sse' });
    t.match(plain.events[0]?.envelope, { id: stored.id, tenant_id: 'ten_a' }, 'without format: the envelope');
  });

  await t.test('history with format=cloudevents, and as a CloudEvents batch with a Link to the next page', async (t) => {
    const a = await publish({ type: 'order.validated', source: 'hist', data: { order_id: 'h1' } });
    await publish({ type: 'order.validated', source: 'hist', data: { order_id: 'h2' } });
    const page = await app.inject({
      method: 'GET',
      url: `/v1/events?format=cloudevents&source=hist&from_seq=${a.seq}`,
      headers: auth(KEYS.a),
    });
    t.equal(page.statusCode, 200, page.body);
    const events = page.json().events as { seq: number; event: Record<string, unknown> }[];
    t.equal(events.length, 2);
    t.match(events[0], { seq: a.seq, event: { specversion: '1.0', id: a.id, type: 'order.validated', tenantid: 'ten_a' } });

    const batch = await app.inject({
      method: 'GET',
      url: `/v1/events?source=hist&from_seq=${a.seq}&limit=1`,
      headers: { ...auth(KEYS.a), accept: 'application/cloudevents-batch+json' },
    });
    t.equal(batch.statusCode, 200, batch.body);
    t.match(batch.headers['content-type'], /^application\/cloudevents-batch\+json/);
    const parsed = HTTP.toEvent({ headers: batch.headers as Record<string, string>, body: batch.body }) as CloudEvent[];
    t.ok(Array.isArray(parsed));
    t.equal(parsed.length, 1);
    t.equal(parsed[0]?.id, a.id);
    const link = String(batch.headers.link);
    const m = /^<([^>]+)>; rel="next"$/.exec(link);
    t.ok(m, `Link header: ${link}`);
    const next = await app.inject({
      method: 'GET',
      url: m?.[1] as string,
      headers: { ...auth(KEYS.a), accept: 'application/cloudevents-batch+json' },
    });
    const rest = HTTP.toEvent({ headers: next.headers as Record<string, string>, body: next.body }) as CloudEvent[];
    t.equal(rest.length, 1);
    t.not(rest[0]?.id, a.id, 'the next page goes on');

    const again = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: { ...auth(KEYS.a), 'content-type': 'application/cloudevents-batch+json' },
      payload: JSON.stringify([...parsed, ...rest]),
    });
    t.equal(again.statusCode, 200, again.body);
    t.match(again.json(), { failed: 0, results: [{ duplicate: true }, { duplicate: true }] });
  });

  await t.test('an HTTP fetch with format=cloudevents', async (t) => {
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/consumers/ce-fetch',
      headers: auth(KEYS.a),
      payload: { types: ['invoice.*'], from: 'new' },
    });
    t.ok(put.statusCode === 201 || put.statusCode === 200, put.body);
    const stored = await publish({ type: 'invoice.paid', source: 'billing', data: { invoice_id: 'inv_1', amount: 10, currency: 'EUR' } });
    const fetched = await app.inject({
      method: 'POST',
      url: '/v1/consumers/ce-fetch/fetch?format=cloudevents',
      headers: auth(KEYS.a),
      payload: { max: 1, wait_ms: 5000 },
    });
    t.equal(fetched.statusCode, 200, fetched.body);
    const [item] = fetched.json().events;
    t.match(item, {
      seq: stored.seq,
      event: { specversion: '1.0', id: stored.id, type: 'invoice.paid', datacontenttype: 'application/json' },
    });
    t.type(item.ack_token, 'string');
  });

  await t.test('binary mode out: headers and body the SDK reads, and that post back as the same event', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/events?source=order-service', headers: auth(KEYS.a) });
    const env = res.json().events[0].event as EventEnvelope;
    const binary = toBinaryCloudEvent({
      ...env,
      metadata: { ...env.metadata, subject: 'ünïcode "quoted" 100%' } as EventEnvelope['metadata'],
    });
    t.equal(binary.headers['ce-id'], 'evt_out_1');
    const ce = HTTP.toEvent({ headers: binary.headers, body: binary.body }) as CloudEvent;
    t.equal(ce.id, 'evt_out_1');
    t.same(ce.data, { order_id: 'ord_out' });
    t.equal(ce.correlationid, 'saga_out');
    const again = await repost(binary);
    t.equal(again.statusCode, 202, again.body);
    t.match(again.json(), { id: 'evt_out_1', duplicate: true });
  });
});
