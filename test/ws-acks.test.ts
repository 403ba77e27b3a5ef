// Client acks at real rates (issue #12, item 9): batched and cumulative acks and naks, and ack
// frames that do not count against WS_MAX_FRAMES_PER_SECOND the way other frames do, so an
// at-least-once subscriber acking every event one by one keeps up with thousands of events a second.
import t from 'tap';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { busInternals } from '../src/bus/testing.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { type Frame, publish, WsClient } from './helpers/ws-client.ts';

const seqs = (frames: Frame[]) => frames.map((f) => f.seq as number);

t.test('batched acks (seqs), cumulative acks (up_to) and batched naks', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { CONSUMER_ACK_WAIT: 1500, WS_MAX_IN_FLIGHT: 10 }, { listen: true });
  const stored: number[] = [];
  for (let i = 0; i < 8; i++) stored.push((await publish(gw.app, KEYS.a)).seq);
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'w', types: ['*'], from: 'all', ack: 'client' });
  t.same(seqs(await ws.events('w', 8)), stored);
  const [s1, s2, s3, s4, s5, s6, s7, s8] = stored as [number, number, number, number, number, number, number, number];

  // A batch acks what is in flight and names, in one error frame, each seq that was not.
  ws.send({ op: 'ack', sub: 'w', seqs: [s1, s2, 999_999] });
  const partial = await ws.next((f) => f.op === 'error');
  t.equal(partial.code, 'GW_NOT_IN_FLIGHT');
  t.equal(partial.sub, 'w');
  t.same(partial.errors, [{ pointer: '/seqs/2', message: 'not in flight' }], 'only the unknown seq is named');
  // A cumulative ack settles every in-flight event up to and including up_to; never an error.
  ws.send({ op: 'ack', sub: 'w', up_to: s4 });
  // A batched nak redelivers at once.
  ws.send({ op: 'nak', sub: 'w', seqs: [s5, s6] });
  const again = await ws.events('w', 2, 5000);
  t.same(
    seqs(again).sort((a, b) => a - b),
    [s5, s6],
    'the naked events come again',
  );
  t.same(
    again.map((f) => f.delivery),
    [2, 2],
  );
  ws.send({ op: 'ack', sub: 'w', up_to: s8 });
  t.ok(await ws.quiet((f) => f.op === 'event' || f.op === 'error', 2000), 'all acknowledged: nothing comes again after the ack wait');
  ws.send({ op: 'ack', sub: 'w', up_to: s8 });
  t.ok(await ws.quiet((f) => f.op === 'error', 200), 'a cumulative ack with nothing to settle is no error');
  ws.send({ op: 'ack', sub: 'w', seqs: [s3, s7] });
  t.same(
    (await ws.next((f) => f.op === 'error')).errors,
    [
      { pointer: '/seqs/0', message: 'not in flight' },
      { pointer: '/seqs/1', message: 'not in flight' },
    ],
    'what up_to settled is no longer in flight',
  );
  const info = await busInternals(gw.app.bus).jsm.consumers.list(gw.config.STREAM_NAME).next();
  t.equal(info[0]?.ack_floor.stream_seq, s8, 'the consumer acknowledged everything');

  // Exactly one of seq, seqs, up_to; sequences within 1 … 2^53−1.
  const invalid: object[] = [
    { op: 'ack', sub: 'w' },
    { op: 'ack', sub: 'w', seq: s1, seqs: [s1] },
    { op: 'ack', sub: 'w', seqs: [] },
    { op: 'ack', sub: 'w', seqs: [0] },
    { op: 'ack', sub: 'w', up_to: 2 ** 53 },
    { op: 'nak', sub: 'w', seqs: [1e20] },
  ];
  for (const frame of invalid) {
    ws.send(frame);
    const e = await ws.next((f) => f.op === 'error');
    t.equal(e.code, 'GW_INVALID_FRAME', JSON.stringify(frame));
    t.equal(e.sub, 'w');
  }
});

t.test('a client acking 2,000 events a second, one ack frame per event, is not disconnected', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_MAX_FRAMES_PER_SECOND: 200 }, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'fast', types: ['*'], ack: 'client' });
  let acked = 0;
  let maxSeq = 0;
  ws.socket.on('message', (data) => {
    const f = JSON.parse(String(data)) as Frame;
    if (f.op !== 'event') return;
    ws.send({ op: 'ack', sub: 'fast', seq: f.seq });
    acked++;
    maxSeq = Math.max(maxSeq, f.seq as number);
  });
  // A real publisher at 2,000 events/s for 2 s: a batch of 100 every 50 ms.
  const example = BUILTIN_CATALOGUE['order.created']?.example;
  const started = Date.now();
  let published = 0;
  let lastSeq = 0;
  for (let tick = 0; tick < 40; tick++) {
    const due = started + tick * 50;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `rate_${tick}_${i}`,
      type: 'order.created',
      source: 'rate',
      data: example,
    }));
    const res = await gw.app.inject({ method: 'POST', url: '/v1/events/batch', headers: auth(KEYS.a), payload: { events } });
    if (res.statusCode !== 200) t.fail(`batch refused: ${res.statusCode} ${res.body.slice(0, 200)}`);
    for (const r of res.json().results as { seq?: number }[]) lastSeq = Math.max(lastSeq, r.seq ?? 0);
    published += 100;
  }
  const rate = published / ((Date.now() - started) / 1000);
  t.ok(rate >= 1500, `published at ${Math.round(rate)} events/s`);
  await eventually(
    'every event to arrive and be acked',
    () => maxSeq,
    (s) => s >= lastSeq,
    { timeoutMs: 15_000 },
  );
  const jsm = busInternals(gw.app.bus).jsm;
  const floor = await eventually(
    "the consumer's ack floor to reach the last event",
    async () => (await jsm.consumers.list(gw.config.STREAM_NAME).next())[0]?.ack_floor.stream_seq ?? 0,
    (s) => s >= lastSeq,
    { timeoutMs: 10_000 },
  );
  t.equal(floor, lastSeq, 'every event acked');
  t.equal(acked, published, 'each delivered once, each acked');
  t.equal(ws.socket.readyState, ws.socket.OPEN, 'still connected (no 4008)');
  t.notOk(
    ws.frames.some((f) => f.op === 'error'),
    'no error frame',
  );
});
