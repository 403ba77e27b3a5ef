// Replay, at-least-once delivery, content filters, limits and cleanup of WebSocket subscriptions.
import t from 'tap';
import { busInternals } from '../src/bus/testing.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { type Frame, publish, WsClient } from './helpers/ws-client.ts';

const seqs = (frames: Frame[]) => frames.map((f) => f.seq as number);

/** Gateway-made consumers on the event stream (group durables are named gw_<tenant>_<group>). */
async function consumerNames(app: Awaited<ReturnType<typeof startGateway>>['app']): Promise<string[]> {
  const names: string[] = [];
  for await (const c of busInternals(app.bus).jsm.consumers.list(app.config.STREAM_NAME)) names.push(c.name);
  return names;
}

t.test('replay from all, a seq or a time, then live with no gap and no duplicate', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const before: number[] = [];
  for (let i = 0; i < 5; i++) before.push((await publish(gw.app, KEYS.a, i % 2 ? 'invoice.paid' : 'order.created')).seq);
  await publish(gw.app, KEYS.b, 'order.created'); // another tenant's, in between
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });

  const all = await ws.subscribe({ sub: 'all', types: ['*'], from: 'all' });
  t.equal(all.start_seq, 1);
  t.equal(all.truncated, false);
  t.same(seqs(await ws.events('all', 5)), before, 'all of the tenant’s history, in order');

  const fromSeq = await ws.subscribe({ sub: 'seq', types: ['order.*'], from: { seq: before[2] } });
  t.equal(fromSeq.start_seq, before[2]);
  t.same(seqs(await ws.events('seq', 2)), [before[2], before[4]]);

  const time = new Date(Date.now() - 60_000).toISOString();
  await ws.subscribe({ sub: 'time', types: ['invoice.paid'], from: { time } });
  t.same(seqs(await ws.events('time', 2)), [before[1], before[3]]);

  // Live continuation: publish while the replays are running; every subscription sees each once.
  const during: number[] = [];
  for (let i = 0; i < 20; i++) during.push((await publish(gw.app, KEYS.a, 'order.created')).seq);
  t.same(seqs(await ws.events('all', 20)), during, 'all: no gap, no duplicate at the switch');
  t.same(seqs(await ws.events('seq', 20)), during);
  // A duplicate at the replay/live switch would come right behind the last event.
  t.ok(await ws.quiet((f) => f.op === 'event', 300), 'nothing extra');
  t.notOk(
    ws.frames.some((f) => f.op === 'event' && (f.event as { tenant_id: string }).tenant_id !== 'ten_a'),
    'never an event of another tenant',
  );
});

t.test('resume without a group: reconnect from the last seq seen + 1', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const first = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await first.subscribe({ sub: 'feed', types: ['order.*'] });
  const seen = [(await publish(gw.app, KEYS.a)).seq, (await publish(gw.app, KEYS.a)).seq];
  t.same(seqs(await first.events('feed', 2)), seen);
  await first.close();
  const missed = [(await publish(gw.app, KEYS.a)).seq, (await publish(gw.app, KEYS.a)).seq];
  const again = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const sub = await again.subscribe({ sub: 'feed', types: ['order.*'], from: { seq: (seen[1] as number) + 1 } });
  t.equal(sub.truncated, false);
  const live = (await publish(gw.app, KEYS.a)).seq;
  t.same(seqs(await again.events('feed', 3)), [...missed, live], 'exactly what was missed, then live');
});

t.test('a start older than the stream holds is reported and starts at the oldest held', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  for (let i = 0; i < 4; i++) await publish(gw.app, KEYS.a);
  await busInternals(gw.app.bus).jsm.streams.purge(gw.config.STREAM_NAME, { keep: 2 });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const sub = await ws.subscribe({ sub: 'old', types: ['*'], from: { seq: 1 } });
  t.equal(sub.truncated, true);
  t.equal(sub.start_seq, 3);
  t.same(seqs(await ws.events('old', 2)), [3, 4]);
  const old = await ws.subscribe({ sub: 'older', types: ['*'], from: { time: '2020-01-01T00:00:00Z' } });
  t.equal(old.truncated, true);
  t.same(seqs(await ws.events('older', 2)), [3, 4]);
});

t.test('another tenant’s sequence numbers give nothing of theirs', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const theirs = await publish(gw.app, KEYS.a, 'order.created');
  const b = await WsClient.connect(t, gw.url, { key: KEYS.b });
  await b.subscribe({ sub: 'probe', types: ['*'], from: { seq: theirs.seq } });
  await b.subscribe({ sub: 'probe-ack', types: ['order.created'], from: { seq: theirs.seq }, ack: 'client' });
  // Replays and a consumer start at once: a leak would show within this window.
  t.ok(await b.quiet((f) => f.op === 'event', 500), 'nothing delivered');
  b.send({ op: 'ack', sub: 'probe-ack', seq: theirs.seq });
  t.equal((await b.next((f) => f.op === 'error')).code, 'GW_NOT_IN_FLIGHT', 'acking their seq does nothing');
  const a = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await a.subscribe({ sub: 'mine', types: ['order.created'], from: 'all', ack: 'client' });
  const [ev] = await a.events('mine', 1);
  t.equal(ev?.seq, theirs.seq, 'the event is still there for its own tenant, unacknowledged');
});

t.test('client acks: redelivery after the ack wait, nak with delay, dead letter after max deliveries', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { CONSUMER_ACK_WAIT: 1000, CONSUMER_MAX_DELIVER: 3 }, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const sub = await ws.subscribe({ sub: 'work', types: ['order.*'], ack: 'client' });
  t.equal(sub.ack, 'client');
  const one = await publish(gw.app, KEYS.a);
  const first = await ws.next((f) => f.op === 'event' && f.seq === one.seq);
  t.equal(first.delivery, 1);
  // Not acked: delivered again after the ack wait, delivery incremented.
  const second = await ws.next((f) => f.op === 'event' && f.seq === one.seq, 4000);
  t.equal(second.delivery, 2);
  ws.send({ op: 'ack', sub: 'work', seq: one.seq });
  // Longer than the 1000 ms ack wait: an ack that did not land would show as a redelivery.
  t.ok(await ws.quiet((f) => f.op === 'event' && f.seq === one.seq, 1200), 'acked: never again');
  ws.send({ op: 'ack', sub: 'work', seq: one.seq });
  t.equal((await ws.next((f) => f.op === 'error')).code, 'GW_NOT_IN_FLIGHT', 'a second ack is refused');

  const two = await publish(gw.app, KEYS.a);
  await ws.next((f) => f.op === 'event' && f.seq === two.seq);
  const nakAt = Date.now();
  ws.send({ op: 'nak', sub: 'work', seq: two.seq, delay_ms: 400 });
  const again = await ws.next((f) => f.op === 'event' && f.seq === two.seq, 3000);
  t.equal(again.delivery, 2);
  t.ok(Date.now() - nakAt >= 350, 'nak delay respected');
  t.ok(Date.now() - nakAt < 1000, 'redelivered on nak, before the ack wait');
  ws.send({ op: 'nak', sub: 'work', seq: two.seq });
  const third = await ws.next((f) => f.op === 'event' && f.seq === two.seq, 3000);
  t.equal(third.delivery, 3);
  ws.send({ op: 'nak', sub: 'work', seq: two.seq });
  // Delivery 4 > max 3: dead-lettered by the gateway, never sent. The nak redelivers at once, so once
  // the dead letter is stored that delivery was handled; a short window then catches a late frame.
  await eventually(
    'the fourth delivery to be dead-lettered',
    () => busInternals(gw.app.bus).jsm.streams.info(gw.config.DEAD_LETTER_STREAM),
    (i) => i.state.messages > 0,
  );
  t.ok(await ws.quiet((f) => f.op === 'event' && f.seq === two.seq, 200), 'not delivered after max deliveries');
  const dlq = await busInternals(gw.app.bus).jsm.streams.info(gw.config.DEAD_LETTER_STREAM);
  t.equal(dlq.state.messages, 1, 'the event is in the dead-letter stream');
});

t.test('a client-ack subscription holds at most WS_MAX_IN_FLIGHT unacknowledged events', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_MAX_IN_FLIGHT: 3 }, { listen: true });
  const stored: number[] = [];
  for (let i = 0; i < 8; i++) stored.push((await publish(gw.app, KEYS.a)).seq);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'slow', types: ['*'], from: 'all', ack: 'client' });
  const firstThree = await ws.events('slow', 3);
  t.same(seqs(firstThree), stored.slice(0, 3));
  // The events are already stored: a fourth beyond the window would arrive with the first three.
  t.ok(await ws.quiet((f) => f.op === 'event', 300), 'no fourth event before an ack');
  ws.send({ op: 'ack', sub: 'slow', seq: stored[0] });
  const [fourth] = await ws.events('slow', 1);
  t.equal(fourth?.seq, stored[3], 'one ack, one more event');
  t.ok(await ws.quiet((f) => f.op === 'event', 300));
  for (const s of [stored[1], stored[2], stored[3]]) ws.send({ op: 'ack', sub: 'slow', seq: s });
  t.same(seqs(await ws.events('slow', 3)), stored.slice(4, 7));
});

t.test('content filters: filtered-out events are never sent (live, replay and client-ack)', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const filter = { source: ['billing'] };
  await ws.subscribe({ sub: 'live', types: ['*'], filter });
  await ws.subscribe({ sub: 'acked', types: ['*'], filter, ack: 'client' });
  const skip = await publish(gw.app, KEYS.a, 'order.created', { source: 'shop' });
  const keep = await publish(gw.app, KEYS.a, 'order.created', { source: 'billing' });
  t.same(seqs(await ws.events('live', 1)), [keep.seq]);
  t.same(seqs(await ws.events('acked', 1)), [keep.seq]);
  await ws.subscribe({ sub: 'replay', types: ['*'], filter, from: 'all' });
  t.same(seqs(await ws.events('replay', 1)), [keep.seq]);
  t.ok(await ws.quiet((f) => f.op === 'event' && f.seq === skip.seq, 300), 'the other source never arrives');
});

t.test('no consumer is left when subscriptions and connections end', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  await publish(gw.app, KEYS.a);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'live', types: ['*'] });
  t.same(await consumerNames(gw.app), [], 'a live subscription costs no consumer');
  await ws.subscribe({ sub: 'replay', types: ['*'], from: 'all' });
  await ws.subscribe({ sub: 'acked', types: ['*'], ack: 'client' });
  await ws.subscribe({ sub: 'acked-replay', types: ['order.*'], from: { seq: 1 }, ack: 'client' });
  t.equal((await consumerNames(gw.app)).length, 3);
  ws.send({ op: 'unsubscribe', sub: 'acked' });
  await ws.next((f) => f.op === 'unsubscribed');
  t.equal((await consumerNames(gw.app)).length, 2, 'unsubscribe deletes its consumer');
  const other = await WsClient.connect(t, gw.url, { key: KEYS.b });
  await other.subscribe({ sub: 'r', types: ['*'], from: 'all' });
  await ws.close();
  other.terminate(); // no close handshake
  t.same(
    await eventually(
      'the consumers of the closed connections to be deleted',
      () => consumerNames(gw.app),
      (names) => names.length === 0,
    ),
    [],
    'closing the connections deletes their consumers',
  );
  t.equal(gw.app.wsSubscriptions.hub.size, 0, 'and the live hub forgot them');
  t.equal(gw.app.wsSubscriptions.hub.tenants, 0, 'and closed its per-tenant feeds');
});

t.test('shutdown closes every socket with 1001 and deletes its consumers', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const observer = await startGateway(t, nats.url);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'replay', types: ['*'], from: 'all' });
  await ws.subscribe({ sub: 'acked', types: ['*'], ack: 'client' });
  t.equal((await consumerNames(observer.app)).length, 2);
  await gw.app.close();
  t.equal((await ws.closed).code, 1001);
  t.same(await consumerNames(observer.app), []);
});
