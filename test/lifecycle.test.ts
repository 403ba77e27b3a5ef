// The gateway's life around NATS trouble: readiness answers promptly while nats-server is frozen,
// closing the app does not wait for a drain that cannot happen, and a gateway started before NATS
// answers listens at once and becomes ready when NATS comes.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { spawnGateway } from './helpers/child-gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('/readyz answers 503 within 1 s while nats-server is stopped (SIGSTOP), 200 again after SIGCONT', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  await nats.pause();
  t.teardown(() => nats.resume());
  const started = Date.now();
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  const ms = Date.now() - started;
  t.equal(res.statusCode, 503, 'not ready');
  t.equal(res.json().code, 'GW_NOT_READY');
  t.ok(res.headers['retry-after'], 'with Retry-After');
  t.ok(ms < 1000, `answered in ${ms} ms`);
  nats.resume();
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready again once nats-server runs');
});

t.test('closing the app while NATS is down (disconnected) finishes within 1 s', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  await nats.kill();
  await eventually('the gateway to notice the disconnect', () => !app.bus.connected);
  const started = Date.now();
  await app.close();
  const ms = Date.now() - started;
  t.ok(ms < 1000, `closed in ${ms} ms`);
});

t.test('closing the app while nats-server is frozen (SIGSTOP) finishes within 3 s', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  await nats.pause();
  t.teardown(() => nats.resume());
  const started = Date.now();
  await app.close();
  const ms = Date.now() - started;
  t.ok(ms < 3000, `closed in ${ms} ms`);
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('NATS_URL unreachable at start: listens at once, logs each attempt, 503 until NATS answers, then ready', async (t) => {
  const port = await closedPort();
  const key = 'gw_dev_unreachable_key';
  const started = Date.now();
  const gw = spawnGateway(t, { NATS_URL: `nats://127.0.0.1:${port}`, DEV_API_KEY: key, SHUTDOWN_DRAIN_MS: '0' });
  const url = await gw.listening(10_000);
  const ms = Date.now() - started;
  t.ok(ms < 5000, `listening ${ms} ms after the start`);
  const attempts = () => gw.lines.filter((l) => l.includes(`127.0.0.1:${port}`) && /ECONNREFUSED|refused/i.test(l));
  await eventually('two logged connection attempts, with the URL and the reason', () => attempts().length >= 2);

  const ready = await fetch(`${url}/readyz`);
  t.equal(ready.status, 503, '/readyz 503');
  t.equal(((await ready.json()) as { code: string }).code, 'GW_NOT_READY');
  t.ok(ready.headers.get('retry-after'), 'with Retry-After');
  t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz 200: alive');
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const publish = (id: string) => fetch(`${url}/v1/events`, { method: 'POST', headers, body: JSON.stringify(sampleEvent({ id })) });
  for (const res of [
    await publish('evt_before_nats'),
    await fetch(`${url}/v1/events/batch`, { method: 'POST', headers, body: JSON.stringify({ events: [sampleEvent()] }) }),
    await fetch(`${url}/v1/events`, { headers }),
  ]) {
    const body = (await res.json()) as { code: string };
    t.equal(res.status, 503, `${res.url}: 503`);
    t.ok(['GW_NOT_READY', 'GW_NATS_UNAVAILABLE'].includes(body.code), `${res.url}: ${body.code}`);
    t.ok(res.headers.get('retry-after'), `${res.url}: Retry-After`);
  }

  const nats = await startNats(t, { port });
  await eventually(
    '/readyz to answer 200 once nats-server runs',
    async () => (await fetch(`${url}/readyz`)).status,
    (status) => status === 200,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  const res = await publish('evt_after_nats');
  t.equal(res.status, 202, 'a publish works');
  const stored = await storedEvents(nats.url, 'events.ten_demo.>');
  t.same(
    stored.map((s) => (s.event as { id: string }).id),
    ['evt_after_nats'],
    'stored (the streams were ensured)',
  );
  gw.child.kill('SIGTERM');
  t.equal(await gw.exited, 0, 'exit 0');
});
