// The gateway's life around NATS trouble: readiness answers promptly while nats-server is frozen,
// and closing the app does not wait for a drain that cannot happen.
import t from 'tap';
import { eventually } from './helpers/eventually.ts';
import { startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

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
