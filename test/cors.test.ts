// CORS: off by default; with CORS_ORIGINS, a preflight from an allowed origin is answered before
// authentication, and the actual request's answer (problem documents too) lets the page read the
// headers it needs. Real HTTP over a listening socket (fetch), with the Origin a browser sends.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const APP_ORIGIN = 'https://app.example.com';

t.test('CORS', async (t) => {
  const nats = await startNats(t);

  await t.test('off by default: no CORS headers, preflights are not answered as such', async (t) => {
    const { url } = await startGateway(t, nats.url, {}, { listen: true });
    const pre = await fetch(`${url}/v1/events`, {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    await pre.body?.cancel();
    t.equal(pre.headers.get('access-control-allow-origin'), null);
    t.not(pre.status, 204);
    const res = await fetch(`${url}/v1/event-types`, { headers: { origin: APP_ORIGIN, ...auth(KEYS.a) } });
    await res.body?.cancel();
    t.equal(res.headers.get('access-control-allow-origin'), null);
  });

  await t.test('an allow-list: preflight, then the actual request', async (t) => {
    const { url } = await startGateway(t, nats.url, { CORS_ORIGINS: [APP_ORIGIN, 'http://localhost:3000'] }, { listen: true });
    const pre = await fetch(`${url}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-correlation-id',
      },
    });
    await pre.body?.cancel();
    t.equal(pre.status, 204, 'the preflight needs no API key');
    t.equal(pre.headers.get('access-control-allow-origin'), APP_ORIGIN);
    t.match(pre.headers.get('access-control-allow-methods'), /POST/);
    t.match(pre.headers.get('access-control-allow-headers')?.toLowerCase(), /authorization/);
    t.match(pre.headers.get('access-control-allow-headers')?.toLowerCase(), /x-correlation-id/);
    t.equal(pre.headers.get('access-control-allow-credentials'), null, 'no cookies');
    t.equal(pre.headers.get('access-control-max-age'), '600');

    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { origin: APP_ORIGIN, 'content-type': 'application/json', ...auth(KEYS.a) },
      body: JSON.stringify(sampleEvent()),
    });
    t.equal(res.status, 202);
    await res.json();
    t.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['x-request-id', 'retry-after', 'ratelimit', 'ratelimit-policy']) t.ok(exposed.includes(h), `exposes ${h}`);

    const refused = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { origin: APP_ORIGIN, 'content-type': 'application/json' },
      body: '{}',
    });
    t.equal(refused.status, 401);
    await refused.json();
    t.equal(refused.headers.get('access-control-allow-origin'), APP_ORIGIN, 'a problem document is readable by the page too');

    const other = await fetch(`${url}/v1/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
    });
    await other.body?.cancel();
    t.equal(other.headers.get('access-control-allow-origin'), null, 'an origin not listed gets no CORS grant');

    const plain = await fetch(`${url}/v1/events`, { method: 'OPTIONS' });
    await plain.body?.cancel();
    t.equal(plain.status, 204, 'a plain OPTIONS is answered, not refused with a text/plain 400');
  });

  await t.test('`*` allows any origin', async (t) => {
    const { url } = await startGateway(t, nats.url, { CORS_ORIGINS: ['*'] }, { listen: true });
    const res = await fetch(`${url}/v1/event-types`, { headers: { origin: 'https://anywhere.example.org', ...auth(KEYS.a) } });
    t.equal(res.status, 200);
    await res.json();
    t.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});

t.test('CORS_ORIGINS is checked', async (t) => {
  const { loadConfig } = await import('../src/config.ts');
  t.same(loadConfig({ CORS_ORIGINS: ' https://a.example.com , http://localhost:3000 ' }).CORS_ORIGINS, [
    'https://a.example.com',
    'http://localhost:3000',
  ]);
  t.equal(loadConfig({}).CORS_ORIGINS, undefined);
  t.throws(() => loadConfig({ CORS_ORIGINS: 'https://a.example.com/path' }), /CORS_ORIGINS/);
  t.throws(() => loadConfig({ CORS_ORIGINS: '*,https://a.example.com' }), /\* alone/);
});
