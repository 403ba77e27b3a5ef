// Server-Sent Events (GET /v1/events/stream) against a real gateway and nats-server, read with a
// real HTTP client as the stream arrives: live delivery with type patterns and content filters,
// tenant isolation, resume (Last-Event-ID, from_seq) across a dropped connection and a gateway
// restart, heartbeats, tickets, problem documents, and a slow reader beside a fast one.
import t, { type Test } from 'tap';
import { eventually, waitOut } from './helpers/eventually.ts';
import { auth, KEYS, startGateway, type TestGateway } from './helpers/gateway.ts';
import { spawnGateway } from './helpers/child-gateway.ts';
import { startNats } from './helpers/nats.ts';
import { SseClient } from './helpers/sse-client.ts';
import { publish } from './helpers/ws-client.ts';

const ids = (c: SseClient) => c.events.map((e) => e.id);

/**
 * Publishes `count` events of about 60 KiB for tenant a, in batches; their sequences. Loopback
 * sockets buffer megabytes in the kernel before the gateway's own buffer grows, so a reader that
 * stops reading is only behind the gateway's mark after several megabytes.
 */
async function publishBig(t: Test, app: TestGateway['app'], count: number): Promise<number[]> {
  const data = { order_id: 'ord_big', note: 'x'.repeat(60_000) };
  const seqs: number[] = [];
  for (let i = 0; i < count; i += 50) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: auth(KEYS.a),
      payload: { events: Array.from({ length: Math.min(50, count - i) }, () => ({ type: 'order.created', source: 'sse-test', data })) },
    });
    const answer = res.json() as { results: { seq: number }[]; failed: number };
    t.equal(res.statusCode, 200, 'batch answered');
    t.equal(answer.failed, 0, 'every event stored');
    for (const r of answer.results) seqs.push(r.seq);
  }
  return seqs;
}

/** For big events: batches of 50 of them, and time to store them on a busy machine. */
const BIG = { WS_SEND_BUFFER_BYTES: 64 * 1024, BODY_LIMIT_BYTES: 8 * 1048576, PUBLISH_TIMEOUT_MS: 20_000 };
/** Events of publishBig that are far more than loopback's socket buffers hold (about 15 MB). */
const MANY = 250;

t.test('live events with type patterns and a content filter: id, event and data', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(
    t,
    nats.url,
    {},
    {
      listen: true,
      // Headers that hooks set on the reply (CORS, say) go out with the stream.
      beforeReady: (app) =>
        app.addHook('onRequest', (_req, reply, done) => {
          reply.header('x-from-a-hook', 'yes');
          done();
        }),
    },
  );
  const filter = JSON.stringify({ data: { order_id: ['ord_keep'] } });
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a, query: { types: 'order.*,invoice.paid', filter } });
  t.equal(sse.status, 200);
  t.match(sse.headers['content-type'], /^text\/event-stream/);
  t.equal(sse.headers['cache-control'], 'no-cache, no-transform');
  t.ok(sse.headers['x-request-id'], 'a request id like every answer');
  t.equal(sse.headers['x-from-a-hook'], 'yes', "a hook's header");

  const kept = await publish(gw.app, KEYS.a, 'order.created', { data: { order_id: 'ord_keep' } });
  await publish(gw.app, KEYS.a, 'order.created', { data: { order_id: 'ord_drop' } }); // the filter drops it
  await publish(gw.app, KEYS.a, 'resource.created'); // not among the types
  const kept2 = await publish(gw.app, KEYS.a, 'order.validated', { data: { order_id: 'ord_keep' } });
  await sse.until('two events', (c) => c.events.length >= 2);
  t.same(ids(sse), [kept.seq, kept2.seq], 'id: is the stream sequence, in order');
  const [first] = sse.events;
  t.equal(first?.event, 'order.created', 'event: is the type');
  t.match(
    first?.envelope,
    { id: kept.id, type: 'order.created', tenant_id: 'ten_a', data: { order_id: 'ord_keep' } },
    'data: is the envelope',
  );
  t.notOk(sse.records[0]?.data.includes('\n'), 'one line of JSON');
});

t.test('a stream without a position sends only new events', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  await publish(gw.app, KEYS.a);
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a });
  const fresh = await publish(gw.app, KEYS.a);
  await sse.until('the new event', (c) => c.events.length >= 1);
  t.same(ids(sse), [fresh.seq]);
});

t.test("a tenant never sees another tenant's events", async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const a = await SseClient.open(t, gw.url, { key: KEYS.a });
  const b = await SseClient.open(t, gw.url, { key: KEYS.b });
  const fromA = await publish(gw.app, KEYS.a);
  const fromB = await publish(gw.app, KEYS.b);
  const fromA2 = await publish(gw.app, KEYS.a);
  await a.until('a’s two events', (c) => c.events.length >= 2);
  await b.until('b’s event', (c) => c.events.length >= 1);
  t.same(ids(a), [fromA.seq, fromA2.seq]);
  t.same(ids(b), [fromB.seq]);
  // Resuming from before them cannot reach them either.
  const replay = await SseClient.open(t, gw.url, { key: KEYS.b, query: { from_seq: '1' } });
  await replay.until('b’s history', (c) => c.events.length >= 1);
  const late = await publish(gw.app, KEYS.b);
  await replay.until('b’s live event', (c) => c.events.length >= 2);
  t.same(ids(replay), [fromB.seq, late.seq]);
  t.notOk(
    [...b.events, ...replay.events].some((e) => e.envelope.tenant_id !== 'ten_b') || a.events.some((e) => e.envelope.tenant_id !== 'ten_a'),
    'only own events',
  );
});

t.test('resume after a dropped connection with Last-Event-ID: no gap, no duplicate', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const first = await SseClient.open(t, gw.url, { key: KEYS.a, query: { types: 'order.*' } });
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) seen.push((await publish(gw.app, KEYS.a)).seq);
  await first.until('three events', (c) => c.events.length >= 3);
  t.same(ids(first), seen);
  first.close();
  await eventually(
    'the gateway to forget the stream',
    () => gw.app.wsSubscriptions.streamCount,
    (n) => n === 0,
  );

  const missed: number[] = [];
  for (let i = 0; i < 3; i++) {
    missed.push((await publish(gw.app, KEYS.a)).seq);
    await publish(gw.app, KEYS.a, 'invoice.paid'); // not among the types
  }
  const last = String(seen.at(-1));
  // from_seq of the original URL is overridden by Last-Event-ID, as when EventSource reconnects.
  const second = await SseClient.open(t, gw.url, { key: KEYS.a, query: { types: 'order.*', from_seq: '1' }, lastEventId: last });
  t.equal(second.status, 200);
  t.equal(second.headers['x-start-seq'], String(Number(last) + 1));
  await second.until('the missed events', (c) => c.events.length >= 3);
  const live = await publish(gw.app, KEYS.a);
  await second.until('the live event', (c) => c.events.length >= 4);
  t.same(ids(second), [...missed, live.seq], 'the missed events, then live: none twice, none lost');
  // A duplicate at the switch from replay to live would follow the last event closely.
  const more = await publish(gw.app, KEYS.a);
  await second.until('one more', (c) => c.events.length >= 5);
  t.same(ids(second).slice(-2), [live.seq, more.seq]);
});

t.test('from_seq starts at that sequence, then goes on live', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const stored: number[] = [];
  for (let i = 0; i < 4; i++) stored.push((await publish(gw.app, KEYS.a)).seq);
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a, query: { from_seq: String(stored[1]) } });
  t.equal(sse.headers['x-start-seq'], String(stored[1]));
  t.notOk(sse.headers['x-stream-truncated']);
  await sse.until('the replayed events', (c) => c.events.length >= 3);
  const live = await publish(gw.app, KEYS.a);
  await sse.until('the live event', (c) => c.events.length >= 4);
  t.same(ids(sse), [...stored.slice(1), live.seq]);
});

t.test('resume across a gateway restart from the last id', async (t) => {
  const nats = await startNats(t);
  const gw1 = await startGateway(t, nats.url, {}, { listen: true });
  const first = await SseClient.open(t, gw1.url, { key: KEYS.a });
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) seen.push((await publish(gw1.app, KEYS.a)).seq);
  await first.until('three events', (c) => c.events.length >= 3);
  t.equal(gw1.app.wsSubscriptions.streamCount, 1, 'the stream counts among the open connections');
  await gw1.app.close();
  await first.untilEnded();
  const close = first.records.at(-1);
  t.equal(close?.event, 'close', 'the stream ends with a close event');
  t.match(JSON.parse(close?.data ?? '{}'), { reason: 'shutting_down', last_id: seen.at(-1) });

  const gw2 = await startGateway(t, nats.url, {}, { listen: true });
  const missed: number[] = [];
  for (let i = 0; i < 3; i++) missed.push((await publish(gw2.app, KEYS.a)).seq);
  const second = await SseClient.open(t, gw2.url, { key: KEYS.a, lastEventId: String(first.events.at(-1)?.id) });
  await second.until('the missed events', (c) => c.events.length >= 3);
  const live = await publish(gw2.app, KEYS.a);
  await second.until('the live event', (c) => c.events.length >= 4);
  t.same(ids(second), [...missed, live.seq], 'no gap and no duplicate across the restart');
});

t.test('a heartbeat comment arrives on an idle stream', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { SSE_HEARTBEAT_INTERVAL: 100 }, { listen: true });
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a });
  await sse.until('two heartbeats', (c) => c.comments.filter((x) => x === 'hb').length >= 2);
  t.equal(sse.records.length, 0, 'comments only');
});

t.test('a ticket stands for the key once (EventSource in browsers)', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const issue = async (key: string) => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(key) });
    t.equal(res.statusCode, 201);
    return (res.json() as { ticket: string }).ticket;
  };
  const ticket = await issue(KEYS.a);
  const sse = await SseClient.open(t, gw.url, { query: { ticket } });
  t.equal(sse.status, 200);
  const ev = await publish(gw.app, KEYS.a);
  await sse.until('an event', (c) => c.events.length >= 1);
  t.same(ids(sse), [ev.seq]);
  t.equal(sse.events[0]?.envelope.tenant_id, 'ten_a', "the ticket's tenant");

  const again = await SseClient.open(t, gw.url, { query: { ticket } });
  t.equal(again.status, 401, 'a ticket works once');
  t.match(again.headers['content-type'], /^application\/problem\+json/);
  t.equal(again.problem.code, 'GW_INVALID_TICKET');

  const forged = await SseClient.open(t, gw.url, { query: { ticket: `${ticket.slice(0, -2)}xx` } });
  t.equal(forged.status, 401);
  t.equal(forged.problem.code, 'GW_INVALID_TICKET');

  // With a key too, the key decides (a ticket is not redeemed then).
  const both = await SseClient.open(t, gw.url, { key: KEYS.aPublish, query: { ticket: await issue(KEYS.a) } });
  t.equal(both.status, 403);
  t.equal(both.problem.code, 'GW_FORBIDDEN_SCOPE');
});

t.test('errors before the stream starts are problem documents', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const cases: [string, Parameters<typeof SseClient.open>[2], number, string][] = [
    ['no key', {}, 401, 'GW_UNAUTHORIZED'],
    ['an unknown key', { key: 'nope' }, 401, 'GW_UNAUTHORIZED'],
    ['a key without subscribe', { key: KEYS.aPublish }, 403, 'GW_FORBIDDEN_SCOPE'],
    ['a read-only key', { key: KEYS.aRead }, 403, 'GW_FORBIDDEN_SCOPE'],
    ['a bad type pattern', { key: KEYS.a, query: { types: 'order..x' } }, 400, 'GW_INVALID_REQUEST'],
    [
      'more than 32 type patterns',
      { key: KEYS.a, query: { types: Array.from({ length: 33 }, (_, i) => `t${i}.*`).join(',') } },
      400,
      'GW_INVALID_REQUEST',
    ],
    ['a filter that is not JSON', { key: KEYS.a, query: { filter: '{nope' } }, 400, 'GW_INVALID_REQUEST'],
    ['an invalid filter', { key: KEYS.a, query: { filter: '{"data":{"x":5}}' } }, 422, 'GW_INVALID_FILTER'],
    ['a bad from_seq', { key: KEYS.a, query: { from_seq: '-3' } }, 400, 'GW_INVALID_REQUEST'],
    ['a bad Last-Event-ID', { key: KEYS.a, lastEventId: 'abc' }, 400, 'GW_INVALID_REQUEST'],
  ];
  for (const [name, opts, status, code] of cases) {
    const res = await SseClient.open(t, gw.url, opts);
    t.equal(res.status, status, `${name}: ${status}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`);
    t.equal(res.problem.code, code, `${name}: ${code}`);
  }
  t.equal(gw.app.wsSubscriptions.streamCount, 0, 'no stream was opened');
});

t.test('a slow live reader is ended past the mark without stalling a fast one', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, BIG, { listen: true });
  const slow = await SseClient.open(t, gw.url, { key: KEYS.a });
  const fast = await SseClient.open(t, gw.url, { key: KEYS.a });
  slow.pause();
  const published = await publishBig(t, gw.app, MANY);
  await fast.until(`all ${MANY} events`, (c) => c.events.length >= MANY, 90_000);
  t.same(ids(fast), published, 'the fast reader got every event, in order');
  // The slow one is ended by the gateway (within the 30 s the test client waits for data), its
  // `event: close` queued behind what it never read, then cut.
  await eventually(
    'the gateway to drop the slow stream',
    () => gw.app.wsSubscriptions.streamCount,
    (n) => n === 1,
    { timeoutMs: 20_000 },
  );
  t.notOk(fast.ended, 'the fast stream goes on');
  slow.resume();
  await slow.untilEnded(20_000);
  t.ok(slow.events.length < MANY, `the slow reader got ${slow.events.length} of ${MANY} before it was ended`);
  const close = slow.records.at(-1);
  if (close?.event === 'close') t.match(JSON.parse(close.data), { reason: 'slow_consumer' }, 'told why, when it read that far');
  const after = await publish(gw.app, KEYS.a);
  await fast.until('a later event', (c) => c.events.some((e) => e.id === after.seq));
});

t.test('a slow reader of a resumed stream is paused, not dropped, and misses nothing', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, BIG, { listen: true });
  const published = await publishBig(t, gw.app, MANY);
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a, query: { from_seq: String(published[0]) } });
  sse.pause();
  await waitOut(3000, 'a window in which the reader reads nothing: the replay must wait past the mark, not end');
  t.equal(gw.app.wsSubscriptions.streamCount, 1, 'still open');
  t.ok(sse.events.length < MANY, 'it was behind');
  sse.resume();
  await sse.until('every event', (c) => c.events.length >= published.length, 90_000);
  t.same(ids(sse), published, 'all of them, in order');
});

t.test('a reader that reads nothing for a whole heartbeat interval is ended', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { ...BIG, SSE_HEARTBEAT_INTERVAL: 300 }, { listen: true });
  const published = await publishBig(t, gw.app, MANY);
  // A resumed stream pauses past the mark instead of ending: only the stall check ends it.
  const sse = await SseClient.open(t, gw.url, { key: KEYS.a, query: { from_seq: String(published[0]) } });
  sse.pause();
  await eventually(
    'the gateway to end the stalled stream',
    () => gw.app.wsSubscriptions.streamCount,
    (n) => n === 0,
    { timeoutMs: 20_000 },
  );
  sse.resume();
  await sse.untilEnded(20_000);
  t.ok(sse.events.length < MANY, 'ended before it read everything');
});

t.test('SIGTERM ends open streams cleanly (event: close, shutting_down) and the gateway exits 0 without waiting them out', async (t) => {
  const key = 'gw_dev_sse_sigterm_key';
  const nats = await startNats(t);
  const gw = spawnGateway(t, { NATS_URL: nats.url, DEV_API_KEY: key, SHUTDOWN_DRAIN_MS: '300', SHUTDOWN_TIMEOUT_MS: '10000' });
  const url = await gw.listening(60_000); // a busy machine starts a process slowly
  const sse = await SseClient.open(t, url, { key });
  t.equal(sse.status, 200);
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'order.created', source: 'sse-test', data: { order_id: 'ord_sigterm' } }),
  });
  t.equal(res.status, 202);
  const { seq } = (await res.json()) as { seq: number };
  await sse.until('the event', (c) => c.events.length >= 1);
  const started = Date.now();
  gw.child.kill('SIGTERM');
  await sse.untilEnded(15_000);
  const close = sse.records.at(-1);
  t.equal(close?.event, 'close');
  t.match(JSON.parse(close?.data ?? '{}'), { reason: 'shutting_down', last_id: seq });
  t.equal(await gw.exited, 0, 'exit 0');
  const ms = Date.now() - started;
  t.ok(ms < 5000, `exited ${ms} ms after the SIGTERM (SHUTDOWN_TIMEOUT_MS is 10 s)`);
});
