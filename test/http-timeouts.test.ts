// Slow or stalled clients cannot hold sockets: a body that never arrives, headers that never end
// and idle keep-alive connections are cut (HTTP_REQUEST_TIMEOUT, HTTP_HEADERS_TIMEOUT,
// HTTP_KEEP_ALIVE_TIMEOUT); an upgraded WebSocket is not.
import t from 'tap';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { raw } from './helpers/raw-http.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

t.test('request, header and keep-alive timeouts', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(
    t,
    nats.url,
    { HTTP_REQUEST_TIMEOUT: 1000, HTTP_HEADERS_TIMEOUT: 600, HTTP_KEEP_ALIVE_TIMEOUT: 500 },
    { listen: true },
  );
  // A timeout is checked every quarter of the shortest one (at least 100 ms): cut within the
  // timeout plus that interval, with slack for a loaded machine.
  const bound = (ms: number) => ms + 150 + 1500;

  await t.test('a body that never arrives (authenticated): 408 problem, socket closed', async (t) => {
    const head = `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth(KEYS.a).authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`;
    const answer = await raw(gw.url, head, 10_000, true);
    t.equal(answer.status, 408);
    t.match(answer.headers['content-type'], /^application\/problem\+json/);
    t.match(JSON.parse(answer.body), { status: 408, code: 'GW_REQUEST_TIMEOUT' });
    t.ok(answer.ms < bound(1000), `closed after ${answer.ms} ms`);
  });

  await t.test('headers that never end (unauthenticated): cut within the header timeout', async (t) => {
    const answer = await raw(gw.url, 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n', 10_000, true);
    t.equal(answer.status, 408);
    t.match(JSON.parse(answer.body), { code: 'GW_REQUEST_TIMEOUT' });
    t.ok(answer.ms < bound(600), `closed after ${answer.ms} ms`);
  });

  await t.test('an idle keep-alive connection is closed', async (t) => {
    const answer = await raw(gw.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', 10_000, true);
    t.equal(answer.status, 200);
    t.ok(answer.ms < bound(500), `closed after ${answer.ms} ms`);
  });

  await t.test('a long poll longer than the request timeout is answered: the request had arrived', async (t) => {
    const headers = { ...auth(KEYS.a), 'content-type': 'application/json' };
    const put = await fetch(`${gw.url}/v1/consumers/slowpoll`, { method: 'PUT', headers, body: '{"types":["*"]}' });
    t.ok(put.ok, String(put.status));
    const started = Date.now();
    const res = await fetch(`${gw.url}/v1/consumers/slowpoll/fetch`, { method: 'POST', headers, body: '{"max":1,"wait_ms":2500}' });
    t.equal(res.status, 200);
    t.same(await res.json(), { events: [] });
    t.ok(Date.now() - started >= 2000, 'waited its wait_ms');
  });

  await t.test('a WebSocket outlives every timeout', async (t) => {
    const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
    await ws.subscribe({ sub: 'live', types: ['*'] });
    const closedEarly = await Promise.race([ws.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
    t.notOk(closedEarly, 'still open after 3 s (three request timeouts)');
    await publish(gw.app, KEYS.a);
    const [event] = await ws.events('live', 1);
    t.ok(event, 'and still delivers');
    await ws.close();
  });
});
