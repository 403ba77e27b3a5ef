// The TypeScript client's SSE tail (tailEvents) against a live gateway: events in order with type
// patterns and a content filter, a resume with Last-Event-ID across a gateway restart on the same
// address (nothing lost, nothing twice), and a refused key ending the tail with the problem.
import t from 'tap';
import {
  createGatewayClient,
  type EventInput,
  GatewayProblemError,
  type StreamClose,
  tailEvents,
} from '../clients/typescript/src/index.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const order = (orderId: string, source = 'sse-client-test') =>
  sampleEvent({ type: 'order.created', source, data: { order_id: orderId } }) as EventInput;

t.test('tailEvents: filtered events in order, and a resume across a gateway restart', async (t) => {
  const nats = await startNats(t);
  const gw1 = await startGateway(t, nats.url, {}, { listen: true });
  const baseUrl = gw1.url;
  const received: { id: number; type: string; order: unknown }[] = [];
  const closes: StreamClose[] = [];
  const tail = tailEvents({
    baseUrl,
    apiKey: KEYS.aSubscribe,
    types: ['order.*'],
    filter: { source: ['sse-client-test'] },
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    onEvent: (event, meta) => {
      received.push({ id: meta.id, type: meta.type, order: (event.data as { order_id?: unknown }).order_id });
    },
    onClose: (c) => closes.push(c),
  });
  t.teardown(() => tail.close());
  await tail.ready;

  const rest1 = createGatewayClient({ baseUrl, apiKey: KEYS.a });
  const before = [];
  for (const id of ['o1', 'o2']) before.push(await rest1.publishEvent(order(id)));
  await rest1.publishEvent(order('other', 'someone-else')); // the content filter drops it
  await eventually(
    'the first events',
    () => received.length,
    (n) => n >= 2,
  );
  t.same(
    received.map((r) => r.id),
    before.map((p) => p.seq),
  );
  t.same(
    received.map((r) => r.type),
    ['order.created', 'order.created'],
  );

  // Restart: the same NATS, the same address; events stored while no gateway runs the stream.
  const port = Number(new URL(baseUrl).port);
  await gw1.app.close();
  await eventually(
    'the shutting_down close event',
    () => closes.map((c) => c.reason),
    (r) => r.includes('shutting_down'),
  );
  const gw2 = await startGateway(t, nats.url);
  const missed = [];
  for (const id of ['o3', 'o4']) {
    const res = await gw2.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${KEYS.a}` },
      payload: order(id),
    });
    missed.push((res.json() as { seq: number }).seq);
  }
  await gw2.app.listen({ host: '127.0.0.1', port });
  await eventually(
    'the missed events after the reconnect',
    () => received.length,
    (n) => n >= 4,
    { timeoutMs: 20_000 },
  );
  const res = await gw2.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { authorization: `Bearer ${KEYS.a}` },
    payload: order('o5'),
  });
  const live = (res.json() as { seq: number }).seq;
  await eventually(
    'the live event',
    () => received.length,
    (n) => n >= 5,
    { timeoutMs: 20_000 },
  );
  t.same(
    received.map((r) => r.id),
    [...before.map((p) => p.seq), ...missed, live],
    'every event once, in order',
  );
  t.same(
    received.map((r) => r.order),
    ['o1', 'o2', 'o3', 'o4', 'o5'],
  );
  t.equal(tail.lastEventId, live);
  t.ok(tail.connections >= 2, 'it reconnected');
  await tail.close();
  t.equal(await tail.closed, undefined, 'closed by the caller');
});

t.test('tailEvents: a refused key ends the tail with the problem', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const tail = tailEvents({ baseUrl: gw.url, apiKey: KEYS.aPublish, onEvent: () => {} });
  const err = await tail.closed;
  t.type(err, GatewayProblemError);
  t.equal((err as GatewayProblemError).status, 403);
  t.equal((err as GatewayProblemError).code, 'GW_FORBIDDEN_SCOPE');
  await t.rejects(tail.ready);
});

t.test('tailEvents: a connection that goes silent is replaced and resumes after the last event', async (t) => {
  const nats = await startNats(t);
  // Heartbeats far apart: a silent stream is what a dead connection looks like to the client.
  const gw = await startGateway(t, nats.url, { SSE_HEARTBEAT_INTERVAL: 600_000 }, { listen: true });
  const received: number[] = [];
  const tail = tailEvents({
    baseUrl: gw.url,
    apiKey: KEYS.a,
    idleTimeoutMs: 500,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    onEvent: (_event, meta) => {
      received.push(meta.id);
    },
  });
  t.teardown(() => tail.close());
  await tail.ready;
  const rest = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.a });
  const first = await rest.publishEvent(order('i1'));
  await eventually(
    'the first event',
    () => received.length,
    (n) => n >= 1,
  );
  await eventually(
    'a reconnect after the silence',
    () => tail.connections,
    (n) => n >= 2,
    { timeoutMs: 15_000 },
  );
  const second = await rest.publishEvent(order('i2'));
  await eventually(
    'the second event',
    () => received.length,
    (n) => n >= 2,
    { timeoutMs: 15_000 },
  );
  t.same(received, [first.seq, second.seq], 'nothing lost, nothing twice');
});
