// A WebSocket `group` and an HTTP pull consumer with the same name are the same consumer: one
// position, each event to one of them, dead letters shared.
import t from 'tap';
import { ack, call, fetchEvents, putConsumer } from './helpers/consumers.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

t.test('an HTTP consumer and a WebSocket group of the same name share one position', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_MAX_IN_FLIGHT: 3 }, { listen: true });
  const created = await putConsumer(gw.app, KEYS.a, 'billing', { types: ['order.*'], from: 'all' });
  t.equal(created.status, 201);
  const stored: number[] = [];
  for (let i = 0; i < 6; i++) stored.push((await publish(gw.app, KEYS.a)).seq);

  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const joined = await ws.subscribe({ sub: 'g', types: ['order.*'], group: 'billing', ack: 'client' });
  t.equal(joined.resumed_group, true, 'the WebSocket joins the consumer made over HTTP');
  const overWs = (await ws.events('g', 3)).map((f) => f.seq as number);

  const overHttp = await fetchEvents(gw.app, KEYS.a, 'billing', { max: 10, wait_ms: 1000 });
  t.same(
    [...overWs, ...overHttp.map((e) => e.seq)].sort((a, b) => a - b),
    stored,
    'every event once, across both front ends',
  );
  t.equal(overHttp.length, 3);

  for (const seq of overWs) ws.send({ op: 'ack', sub: 'g', seq });
  t.ok((await ack(gw.app, KEYS.a, 'billing', { acks: overHttp.map((e) => e.ack_token) })).acks.every((a) => a.ok));
  // The WebSocket acks are frames without an answer: wait until the consumer shows them.
  const info = await eventually(
    'the WebSocket acks to reach the consumer',
    () => call(gw.app, KEYS.a, 'GET', '/v1/consumers/billing'),
    (r) => r.body.unacked === 0,
  );
  t.match(info.body, { pending: 0, unacked: 0, ack_floor_seq: stored[5] });
});
