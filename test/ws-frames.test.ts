// Client frames the gateway refuses (issue #12, item 6): an error frame names the `sub` it refers to
// whenever the frame carries a readable one, even when the frame fails validation; a frame nested
// deeper than BODY_MAX_DEPTH is refused as GW_INVALID_FRAME before anything recursive runs.
import t from 'tap';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

t.test('error frames for a bad frame carry the sub it names, when that sub is readable', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const error = () => ws.next((f) => f.op === 'error');
  const named: [string, object][] = [
    ['no types', { op: 'subscribe', sub: 'named1' }],
    ['unknown field', { op: 'subscribe', sub: 'named2', types: ['*'], tenant_id: 'ten_b' }],
    ['bad from', { op: 'subscribe', sub: 'named3', types: ['*'], from: { seq: 0 } }],
    ['seq beyond 2^53', { op: 'subscribe', sub: 'named4', types: ['*'], from: { seq: 1e20 } }],
    ['subject wildcard', { op: 'subscribe', sub: 'named5', types: ['order.>'] }],
    ['bad ack seq', { op: 'ack', sub: 'named6', seq: 'one' }],
  ];
  for (const [name, frame] of named) {
    ws.send(frame);
    const e = await error();
    t.equal(e.code, 'GW_INVALID_FRAME', name);
    t.equal(e.sub, (frame as { sub: string }).sub, `${name}: the error names the sub`);
  }
  // A sub that is itself invalid (or absent) cannot be echoed.
  ws.send({ op: 'subscribe', sub: 'a.b', types: ['*'] });
  const badId = await error();
  t.equal(badId.code, 'GW_INVALID_FRAME');
  t.notOk('sub' in badId, 'an invalid sub is not echoed');
  ws.send({ op: 'subscribe', types: ['*'] });
  t.notOk('sub' in (await error()), 'no sub, none named');
  await ws.subscribe({ sub: 'ok', types: ['*'] });
});

t.test('a frame nested deeper than BODY_MAX_DEPTH gets GW_INVALID_FRAME and the connection goes on', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { BODY_MAX_DEPTH: 64, WS_MAX_FRAME_BYTES: 65536 }, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const depth = 10_000;
  const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  ws.send(`{"op":"subscribe","sub":"deep","types":["*"],"filter":{"data":${deep}}}`);
  const e = await ws.next((f) => f.op === 'error');
  t.equal(e.code, 'GW_INVALID_FRAME', 'refused as an invalid frame');
  t.match(e.message, /64/, 'the message names the limit');
  const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  ws.send(`{"op":"nak","sub":"x","seq":1,"delay_ms":${arrays}}`);
  t.equal((await ws.next((f) => f.op === 'error')).code, 'GW_INVALID_FRAME', 'arrays too');
  // Nesting within the limit is fine.
  ws.send({ op: 'subscribe', sub: 'shallow', types: ['*'], filter: { data: { a: { b: ['x'] } } } });
  const answer = await ws.next((f) => f.sub === 'shallow');
  t.not(answer.code, 'GW_INVALID_FRAME', `within the limit: ${JSON.stringify(answer)}`);
  await ws.subscribe({ sub: 'live', types: ['*'] });
  const stored = await publish(gw.app, KEYS.a);
  t.equal((await ws.events('live', 1))[0]?.seq, stored.seq, 'still delivering');
});
