// GET /v1/ws: authentication before the upgrade, tickets, live delivery, patterns, tenant isolation,
// bad and hostile frames.
import t from 'tap';
import { ApiKeys } from '../src/auth/api-keys.ts';
import { busInternals } from '../src/bus/testing.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { auth, KEY_FILE, KEYS, startGateway } from './helpers/gateway.ts';
import { waitOut } from './helpers/eventually.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

t.test('the upgrade is refused with problem+json before any upgrade without a subscribe key', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const none = await WsClient.refusal(gw.url);
  t.equal(none.status, 401);
  t.match(none.contentType, /application\/problem\+json/);
  t.equal(none.body.code, 'GW_UNAUTHORIZED');
  const unknown = await WsClient.refusal(gw.url, { key: 'not-a-key' });
  t.equal(unknown.status, 401);
  const publishOnly = await WsClient.refusal(gw.url, { key: KEYS.aPublish });
  t.equal(publishOnly.status, 403);
  t.equal(publishOnly.body.code, 'GW_FORBIDDEN_SCOPE');
  t.equal(gw.app.wsSubscriptions.connectionCount, 0, 'no connection was accepted');
  // A subscribe-only key is enough.
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.aSubscribe });
  await ws.subscribe({ sub: 's', types: ['*'] });
  // A plain GET is not an upgrade.
  const plain = await gw.app.inject({ method: 'GET', url: '/v1/ws', headers: auth(KEYS.a) });
  t.equal(plain.statusCode, 400);
  t.equal(plain.json().code, 'GW_INVALID_REQUEST');
});

t.test('tickets: single use, signed, short-lived, never logged', async (t) => {
  const nats = await startNats(t);
  const { logger, raw: lines } = captureLogs();
  const config = configWith({ NATS_URL: [nats.url], PUBLISH_TIMEOUT_MS: 2000, WS_TICKET_SECRET: 'shared-secret', WS_TICKET_TTL: 1500 });
  const app = await buildApp(config, { apiKeys: ApiKeys.fromDocument(KEY_FILE), logger });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const refused = await app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.aPublish) });
  t.equal(refused.statusCode, 403);
  const res = await app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.aSubscribe) });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers['cache-control'], 'no-store');
  const { ticket, expires_at } = res.json();
  t.ok(Date.parse(expires_at) > Date.now());

  const ws = await WsClient.connect(t, url, { ticket });
  await ws.subscribe({ sub: 'all', types: ['*'] });
  const stored = await publish(app, KEYS.a);
  const [ev] = await ws.events('all', 1);
  t.equal(ev?.seq, stored.seq, "the ticket's tenant gets its events");

  const again = await WsClient.refusal(url, { ticket });
  t.equal(again.status, 401, 'a ticket works once');
  t.equal(again.body.code, 'GW_INVALID_TICKET');

  const forged = `${ticket.split('.')[0]}.${Buffer.from('x'.repeat(32)).toString('base64url')}`;
  t.equal((await WsClient.refusal(url, { ticket: forged })).status, 401, 'a forged signature is refused');
  const other = JSON.parse(Buffer.from(ticket.split('.')[0], 'base64url').toString());
  const tampered = `${Buffer.from(JSON.stringify({ ...other, t: 'ten_b' })).toString('base64url')}.${ticket.split('.')[1]}`;
  t.equal((await WsClient.refusal(url, { ticket: tampered })).status, 401, 'a ticket rewritten to another tenant is refused');

  const issued = (await app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) })).json();
  const late = issued.ticket;
  // Only time makes a ticket expire: cross its expires_at (WS_TICKET_TTL 1500 ms, the smallest that
  // leaves the steps above time to use the first ticket on a loaded machine).
  await waitOut(Math.max(0, Date.parse(issued.expires_at) - Date.now()) + 50, 'the ticket to expire');
  const expired = await WsClient.refusal(url, { ticket: late });
  t.equal(expired.status, 401, 'an expired ticket is refused');
  t.match(String(expired.body.detail), /expired/);

  const log = lines.join('');
  for (const tk of [ticket, forged, late]) t.notOk(log.includes(tk.split('.')[1] as string), 'no ticket in the logs');
  t.match(log, /ticket=\[redacted\]/, 'the request line shows the ticket redacted');
});

t.test('a ticket from one instance works once on another sharing the secret', async (t) => {
  const nats = await startNats(t);
  const one = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'cluster-secret' }, { listen: true });
  const two = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'cluster-secret' }, { listen: true });
  const three = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'another-secret' }, { listen: true });
  const { ticket } = (await one.app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) })).json();
  t.equal((await WsClient.refusal(three.url, { ticket })).status, 401, 'another secret does not verify it');
  await WsClient.connect(t, two.url, { ticket });
  t.equal((await WsClient.refusal(one.url, { ticket })).status, 401, 'used on one instance, refused on the other');
});

t.test('live delivery: patterns, once per stored event, own tenant only', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const a = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const b = await WsClient.connect(t, gw.url, { key: KEYS.b });
  await a.subscribe({ sub: 'mix', types: ['order.*', 'invoice.paid', 'order.created'] });
  await b.subscribe({ sub: 'everything', types: ['*'] });

  const created = await publish(gw.app, KEYS.a, 'order.created', { id: 'evt_dup' });
  const retried = await publish(gw.app, KEYS.a, 'order.created', { id: 'evt_dup' });
  t.ok(retried.duplicate, 'the retry was deduplicated');
  await publish(gw.app, KEYS.a, 'invoice.generated');
  const paid = await publish(gw.app, KEYS.a, 'invoice.paid');
  const cancelled = await publish(gw.app, KEYS.a, 'order.cancelled');
  const got = await a.events('mix', 3);
  t.same(
    got.map((f) => f.seq),
    [created.seq, paid.seq, cancelled.seq],
    'order.* and invoice.paid, each stored event once, in order',
  );
  // Nothing-happens windows: a duplicate or a wrong match would follow within milliseconds.
  t.ok(await a.quiet((f) => f.op === 'event', 300), 'nothing else (no duplicate, no invoice.generated)');
  t.ok(await b.quiet((f) => f.op === 'event', 100), "tenant b sees none of tenant a's events");
  const own = await publish(gw.app, KEYS.b, 'invoice.paid');
  const [mine] = await b.events('everything', 1);
  t.equal(mine?.seq, own.seq);
  t.equal((mine?.event as { tenant_id: string } | undefined)?.tenant_id, 'ten_b');
});

t.test('a bad frame gets an error frame and the connection stays open', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_MAX_SUBSCRIPTIONS: 2 }, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const error = () => ws.next((f) => f.op === 'error');
  const cases: [string, unknown, string][] = [
    ['not JSON', '{"op": "subscribe",', 'GW_INVALID_FRAME'],
    ['not an object', '[1,2]', 'GW_INVALID_FRAME'],
    ['unknown op', { op: 'publish', sub: 'x' }, 'GW_INVALID_FRAME'],
    ['__proto__ op', { op: '__proto__' }, 'GW_INVALID_FRAME'],
    ['no types', { op: 'subscribe', sub: 'x' }, 'GW_INVALID_FRAME'],
    ['subject wildcard', { op: 'subscribe', sub: 'x', types: ['order.>'] }, 'GW_INVALID_FRAME'],
    ['another tenant as a pattern', { op: 'subscribe', sub: 'x', types: ['ten_b.order.created'] }, 'GW_INVALID_FRAME'],
    ['subject tokens in the id', { op: 'subscribe', sub: 'a.b', types: ['*'] }, 'GW_INVALID_FRAME'],
    ['unknown field', { op: 'subscribe', sub: 'x', types: ['*'], tenant_id: 'ten_b' }, 'GW_INVALID_FRAME'],
    ['bad from', { op: 'subscribe', sub: 'x', types: ['*'], from: { seq: 0 } }, 'GW_INVALID_FRAME'],
    ['group with a dot', { op: 'subscribe', sub: 'x', types: ['*'], group: 'ten_b.g' }, 'GW_INVALID_FRAME'],
    ['bad filter', { op: 'subscribe', sub: 'x', types: ['*'], filter: { data: { amount: [{ numeric: ['~', 1] }] } } }, 'GW_INVALID_FILTER'],
    ['ack of an unknown subscription', { op: 'ack', sub: 'nope', seq: 1 }, 'GW_UNKNOWN_SUBSCRIPTION'],
    ['unsubscribe of an unknown subscription', { op: 'unsubscribe', sub: 'nope' }, 'GW_UNKNOWN_SUBSCRIPTION'],
  ];
  for (const [name, frame, code] of cases) {
    ws.send(frame as object);
    const e = await error();
    t.equal(e.code, code, name);
  }
  ws.socket.send(Buffer.from('{"op":"ack"}'), { binary: true });
  t.equal((await error()).code, 'GW_INVALID_FRAME', 'binary frame');
  ws.send({ op: 'nak', sub: 'x', seq: 'one' });
  const detailed = await error();
  t.match(detailed.errors, [{ pointer: '/seq' }], 'field errors point into the frame');

  await ws.subscribe({ sub: 'one', types: ['*'] });
  ws.send({ op: 'subscribe', sub: 'one', types: ['*'] });
  t.equal((await error()).code, 'GW_DUPLICATE_SUBSCRIPTION');
  ws.send({ op: 'ack', sub: 'one', seq: 1 });
  t.equal((await error()).code, 'GW_NOT_IN_FLIGHT', 'ack on an auto-ack subscription');
  await ws.subscribe({ sub: 'two', types: ['order.created'] });
  ws.send({ op: 'subscribe', sub: 'three', types: ['*'] });
  const tooMany = await error();
  t.equal(tooMany.code, 'GW_TOO_MANY_SUBSCRIPTIONS');
  t.equal(tooMany.sub, 'three');
  ws.send({ op: 'unsubscribe', sub: 'two' });
  await ws.next((f) => f.op === 'unsubscribed' && f.sub === 'two');
  await ws.subscribe({ sub: 'three', types: ['*'] });
  const stored = await publish(gw.app, KEYS.a);
  t.same(
    (await ws.events('one', 1)).map((f) => f.seq),
    [stored.seq],
    'still delivering after all that',
  );
});

t.test('protocol abuse closes the connection with a documented code', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_MAX_FRAME_BYTES: 1024, WS_MAX_FRAMES_PER_SECOND: 20 }, { listen: true });
  const big = await WsClient.connect(t, gw.url, { key: KEYS.a });
  big.send({ op: 'subscribe', sub: 'x', types: ['*'], filter: { source: ['x'.repeat(1100)] } });
  t.equal((await big.closedWithin()).code, 4009, 'a frame over WS_MAX_FRAME_BYTES');
  const huge = await WsClient.connect(t, gw.url, { key: KEYS.a });
  huge.send('x'.repeat(4096));
  t.equal((await huge.closedWithin()).code, 1009, 'a frame over the transport cap');

  const flood = await WsClient.connect(t, gw.url, { key: KEYS.a });
  for (let i = 0; i < 50; i++) flood.send({ op: 'ack', sub: 'x', seq: 1 });
  t.equal((await flood.closedWithin()).code, 4008, 'more than WS_MAX_FRAMES_PER_SECOND frames');
  // Polite clients on the same instance are unaffected.
  const ok = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ok.subscribe({ sub: 'x', types: ['*'] });
});

t.test('a thousand live subscriptions cost no JetStream consumer and each gets every event', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const clients: WsClient[] = [];
  for (let c = 0; c < 10; c++) {
    const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
    for (let s = 0; s < 100; s++) ws.send({ op: 'subscribe', sub: `s${s}`, types: s % 2 ? ['order.*'] : ['*'] });
    clients.push(ws);
  }
  for (const ws of clients) for (let s = 0; s < 100; s++) await ws.next((f) => f.op === 'subscribed' && f.sub === `s${s}`);
  t.equal(gw.app.wsSubscriptions.hub.size, 1000);
  t.equal(gw.app.wsSubscriptions.hub.tenants, 1, 'one feed for the tenant');
  const consumers = [];
  for await (const c of busInternals(gw.app.bus).jsm.consumers.list(gw.config.STREAM_NAME)) consumers.push(c.name);
  t.same(consumers, [], 'no consumer');
  const started = performance.now();
  const events = 20;
  const stored: number[] = [];
  for (let i = 0; i < events; i++) stored.push((await publish(gw.app, KEYS.a)).seq);
  for (const ws of clients) {
    for (let s = 0; s < 100; s++) {
      const got = await ws.events(`s${s}`, events, 10_000);
      if (got.map((f) => f.seq).join() !== stored.join()) t.fail(`s${s} got ${got.map((f) => f.seq)}`);
    }
  }
  const ms = performance.now() - started;
  t.comment(`${events} events x 1000 subscriptions = ${events * 1000} frames in ${Math.round(ms)} ms`);
  t.pass('every subscription got every event, in order');
});
