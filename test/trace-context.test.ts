// The W3C trace context of a publisher travels with its event (NATS headers) and comes out on every
// delivery, with tracing off (no OpenTelemetry SDK in this process): live, replay and client-ack
// WebSocket subscriptions, HTTP fetches, and every entry of a batch. A malformed traceparent is
// ignored; metadata.trace_id keeps its meaning.
import t from 'tap';
import { fetchEvents, putConsumer } from './helpers/consumers.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

t.test('traceparent and tracestate reach every kind of delivery unchanged', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'live', types: ['*'] });
  await ws.subscribe({ sub: 'acked', types: ['*'], ack: 'client', from: 'new' });

  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...auth(KEYS.a), traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
    payload: sampleEvent(),
  });
  t.equal(res.statusCode, 202);
  const { seq } = res.json() as { seq: number };
  for (const sub of ['live', 'acked']) {
    const frame = await ws.next((f) => f.op === 'event' && f.sub === sub && f.seq === seq);
    t.equal(frame.traceparent, TRACEPARENT, `${sub}: traceparent`);
    t.equal(frame.tracestate, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', `${sub}: tracestate`);
    t.equal((frame.event as { metadata: { trace_id: string } }).metadata.trace_id, '0af7651916cd43dd8448eb211c80319c');
  }
  await ws.subscribe({ sub: 'replay', types: ['*'], from: { seq } });
  const replayed = await ws.next((f) => f.op === 'event' && f.sub === 'replay' && f.seq === seq);
  t.equal(replayed.traceparent, TRACEPARENT, 'replay: traceparent');

  // A batch: every entry carries the request's trace context.
  const batch = await gw.app.inject({
    method: 'POST',
    url: '/v1/events/batch',
    headers: { ...auth(KEYS.a), traceparent: TRACEPARENT },
    payload: { events: [sampleEvent(), sampleEvent()] },
  });
  t.equal(batch.statusCode, 200);
  const batchSeqs = (batch.json() as { results: { seq: number }[] }).results.map((r) => r.seq);
  for (const s of batchSeqs) {
    const frame = await ws.next((f) => f.op === 'event' && f.sub === 'live' && f.seq === s);
    t.equal(frame.traceparent, TRACEPARENT, 'a batch entry carries it');
    t.notOk('tracestate' in frame, 'no tracestate when none was sent');
  }

  // Without a (valid) traceparent: nothing travels, the frame has no field.
  for (const headers of [{}, { traceparent: 'not-a-traceparent' }, { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }]) {
    const plain = await gw.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(KEYS.a), ...headers },
      payload: sampleEvent(),
    });
    t.equal(plain.statusCode, 202);
    const frame = await ws.next((f) => f.op === 'event' && f.sub === 'live' && f.seq === (plain.json() as { seq: number }).seq);
    t.notOk('traceparent' in frame, `no traceparent (${JSON.stringify(headers)})`);
  }

  // An HTTP fetch item carries it.
  t.equal((await putConsumer(gw.app, KEYS.a, 'pull', { types: ['*'], from: { seq } })).status, 201);
  const [item] = await fetchEvents(gw.app, KEYS.a, 'pull', { max: 1, wait_ms: 2000 });
  t.equal((item as { traceparent?: string } | undefined)?.traceparent, TRACEPARENT, 'fetch: traceparent');
});
