// Slow and dead readers: gateway-side buffering stays bounded, live auto-ack readers that fall
// behind are closed with 4010, replays pause, and dead connections are found by ping/pong.
import type { Socket } from 'node:net';
import t from 'tap';
import type { WebSocket } from 'ws';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { busInternals } from '../src/bus/testing.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { eventually, waitOut } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

const BUFFER = 64 * 1024;
const PADDING = 'x'.repeat(60 * 1024);
// ~18 MB: more than loopback socket buffers take from a reader that stopped, so the gateway has to
// buffer or stop; the live test publishes only until the gateway gave up on the reader.
const EVENTS = 300;

type Gateway = Awaited<ReturnType<typeof startGateway>>;

/** The gateway side of every open WebSocket. */
const serverSockets = (gw: Gateway) => [...gw.app.websocketServer.clients] as WebSocket[];

/** Pauses reading on the client's TCP socket, as a client that stopped reading would. */
const rawSocket = (c: WsClient) => (c.socket as unknown as { _socket: Socket })._socket;

/** Publishes big events, up to `count` or until `onEach` says stop. */
async function publishBig(gw: Gateway, count: number, onEach: () => boolean): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    seqs.push(
      (await publish(gw.app, KEYS.a, 'order.created', { data: { ...BUILTIN_CATALOGUE['order.created']?.example, padding: PADDING } })).seq,
    );
    if (onEach()) break;
  }
  return seqs;
}

t.test('a live auto-ack reader that stops reading is closed with 4010; the gateway buffers at most the limit', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_SEND_BUFFER_BYTES: BUFFER, BODY_LIMIT_BYTES: 1048576 }, { listen: true });
  const slow = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const fast = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await slow.subscribe({ sub: 'live', types: ['*'] });
  await fast.subscribe({ sub: 'live', types: ['*'] });
  rawSocket(slow).pause();
  let maxBuffered = 0;
  let closing = false;
  const stored = await publishBig(gw, EVENTS, () => {
    for (const s of serverSockets(gw)) {
      maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
      if (s.readyState === s.CLOSING) closing = true;
    }
    return closing;
  });
  t.ok(closing, 'the gateway started closing the slow reader');
  t.ok(maxBuffered <= BUFFER + 70 * 1024, `gateway-side buffer stayed bounded (max ${maxBuffered} bytes)`);
  rawSocket(slow).resume();
  const closed = await slow.closedWithin();
  t.equal(closed.code, 4010);
  t.match(closed.reason, /slow consumer/, 'with a reason');
  t.equal((await fast.events('live', stored.length, 20_000)).length, stored.length, 'a reader that keeps up gets everything');
});

t.test('a replay to a reader that stops reading pauses, bounded, and resumes without loss', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_SEND_BUFFER_BYTES: BUFFER }, { listen: true });
  const stored = await publishBig(gw, EVENTS, () => false);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  rawSocket(ws).pause();
  ws.send({ op: 'subscribe', sub: 'r', types: ['*'], from: 'all' });
  let maxBuffered = 0;
  // A window that must pass without the buffer growing past the limit (sampled every 10 ms).
  for (let i = 0; i < 150; i++) {
    for (const s of serverSockets(gw)) maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
    await waitOut(10, 'a sample of the gateway-side buffer');
  }
  t.ok(maxBuffered > 0, 'the gateway did have to buffer');
  t.ok(maxBuffered <= BUFFER + 70 * 1024, `gateway-side buffer stayed bounded (max ${maxBuffered} bytes)`);
  t.equal(serverSockets(gw)[0]?.readyState, 1, 'still open');
  rawSocket(ws).resume();
  const got = await ws.events('r', EVENTS, 20_000);
  t.same(
    got.map((f) => f.seq),
    stored,
    'every event, in order, once',
  );
});

t.test('a reader whose pings are stuck behind unread events is closed with 4010 and a reason, not cut off', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_SEND_BUFFER_BYTES: BUFFER, WS_PING_INTERVAL: 300 }, { listen: true });
  await publishBig(gw, EVENTS, () => false);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  rawSocket(ws).pause();
  ws.send({ op: 'subscribe', sub: 'r', types: ['*'], from: 'all' });
  // The replay pauses on the full buffer; the pings queue behind the events and go unanswered.
  await eventually(
    'the gateway to give up on the reader',
    () => serverSockets(gw)[0]?.readyState ?? 3,
    (state) => state !== 1,
    { timeoutMs: 5000 },
  );
  rawSocket(ws).resume();
  const closed = await ws.closedWithin();
  t.equal(closed.code, 4010, 'a slow consumer, said so with 4010');
  t.match(closed.reason, /slow consumer/, 'and a reason');
  t.ok(ws.frames.length > 0, 'after the events it had queued');
});

t.test('ping/pong: a connection that stops answering is dropped and cleaned up; a live one stays', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_PING_INTERVAL: 200 }, { listen: true });
  const alive = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const dead = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await dead.subscribe({ sub: 'acked', types: ['*'], ack: 'client' });
  t.equal(gw.app.wsSubscriptions.connectionCount, 2);
  rawSocket(dead).pause(); // never reads the pings, so never answers them
  const count = await eventually(
    'the silent connection to be dropped',
    () => gw.app.wsSubscriptions.connectionCount,
    (n) => n <= 1,
    { timeoutMs: 5000 },
  );
  t.equal(count, 1, 'the silent connection is gone');
  const consumerNames = async () => {
    const names: string[] = [];
    for await (const c of busInternals(gw.app.bus).jsm.consumers.list(gw.config.STREAM_NAME)) names.push(c.name);
    return names;
  };
  const consumers = await eventually('its consumer to be deleted', consumerNames, (names) => names.length === 0, { timeoutMs: 3000 });
  t.same(consumers, [], 'and its consumer deleted');
  await alive.subscribe({ sub: 'still', types: ['*'] });
  t.pass('the answering connection is still usable after several ping rounds');
});
