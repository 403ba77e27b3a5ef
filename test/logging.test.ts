// Logs are JSON lines with the request id, the event and correlation ids on publish, and never a key.
import { connect } from 'node:net';
import t from 'tap';
import { ApiKeys } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { auth, KEY_FILE, KEYS, sampleEvent } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';
import { raw } from './helpers/raw-http.ts';
import { eventually } from './helpers/eventually.ts';
import { WsClient } from './helpers/ws-client.ts';

t.test('publish logs carry request, event and correlation ids; Authorization is not logged', async (t) => {
  const nats = await startNats(t);
  const { logger, lines, raw: written } = captureLogs();
  const app = await buildApp(configWith({ NATS_URL: [nats.url] }), {
    apiKeys: ApiKeys.fromDocument(KEY_FILE),
    logger,
  });
  t.teardown(() => app.close());
  await app.ready();

  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...auth(KEYS.a), 'x-request-id': 'req-log-1', 'x-correlation-id': 'corr_log_1' },
    payload: sampleEvent({ id: 'evt_log_1' }),
  });
  t.equal(res.statusCode, 202);
  await app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: 'Bearer wrong-secret-key' }, payload: sampleEvent() });

  const published = lines.find((l) => l.msg === 'event published');
  t.match(published, { request_id: 'req-log-1', event_id: 'evt_log_1', correlation_id: 'corr_log_1', type: 'order.provisioned', seq: 1 });
  const completed = lines.find((l) => l.msg === 'request completed' && l.request_id === 'req-log-1');
  t.match(completed, { status: 202, method: 'POST', url: '/v1/events' });
  t.ok(
    lines.some((l) => l.msg === 'request rejected' && l.code === 'GW_UNAUTHORIZED'),
    'rejections are logged with their code',
  );
  for (const secret of [KEYS.a, 'wrong-secret-key'])
    t.notOk(
      written.some((l) => l.includes(secret)),
      `no log line holds ${secret}`,
    );
});

t.test('client errors log at info without a stack; a 5xx logs exactly one error line with its stack', async (t) => {
  const nats = await startNats(t);
  const { logger, lines } = captureLogs('debug');
  const app = await buildApp(configWith({ NATS_URL: [nats.url], HTTP_REQUEST_TIMEOUT: 500, HTTP_HEADERS_TIMEOUT: 500 }), {
    apiKeys: ApiKeys.fromDocument(KEY_FILE),
    logger,
  });
  app.get('/boom', () => {
    throw new TypeError('a bug');
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const json = { ...auth(KEYS.a), 'content-type': 'application/json' };

  lines.length = 0; // the start's warnings (no shared secrets) are not at issue
  // A burst of client mistakes of every kind, 5 times over.
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/events', payload: sampleEvent() }),
      app.inject({ method: 'POST', url: '/v1/events', headers: json, body: '{oops' }),
      app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a) }),
      app.inject({ method: 'POST', url: '/v1/events', headers: json, body: `{"data":${'['.repeat(500)}${']'.repeat(500)}}` }),
      app.inject({ method: 'POST', url: '/v1/events', headers: json, payload: { type: 'order.created' } }),
      app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth(KEYS.a), 'content-type': 'text/csv' }, body: 'a,b' }),
      app.inject({ method: 'POST', url: '/v1/events', headers: json, body: 'x'.repeat(2 * 1048576) }),
      app.inject({ method: 'GET', url: '/v1/events?from_seq=1e30', headers: auth(KEYS.a) }),
      app.inject({ method: 'GET', url: '/nope' }),
      app.inject({ method: 'DELETE', url: '/v1/events', headers: auth(KEYS.a) }),
      app.inject({ method: 'GET', url: '/v1/ws', headers: auth(KEYS.a) }),
      app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.aPublish) }),
      app.inject({ method: 'GET', url: '/v1/consumers/nope', headers: auth(KEYS.a) }),
      WsClient.refusal(url, { key: 'not-a-key' }).then((r) => ({ statusCode: r.status })),
      WsClient.refusal(url, { ticket: 'forged' }).then((r) => ({ statusCode: r.status })),
      raw(url, 'GARBAGE\r\n\r\n'),
      raw(url, `GET /v1/events HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      // A body that never arrives (cut at the request timeout), and one whose client hangs up midway.
      raw(
        url,
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.a}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{`,
        10_000,
        true,
      ),
      new Promise<{ statusCode: number }>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) }, () => {
          socket.end(
            `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.a}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{`,
          );
          socket.destroy();
          resolve({ statusCode: 0 });
        });
      }),
    ]);
    for (const a of answers) {
      const status = 'statusCode' in a ? a.statusCode : a.status;
      t.ok(status === 0 || (status >= 400 && status < 500), `a client mistake: ${status}`);
    }
  }
  await eventually('the request-timeout answers to be logged', () => lines.filter((l) => l.code === 'GW_REQUEST_TIMEOUT').length >= 5);
  const bad = lines.filter((l) => (l.level as number) >= 40 || JSON.stringify(l).includes('"stack"'));
  t.same(bad, [], 'no warn or error line and no stack for client mistakes');
  t.ok(lines.filter((l) => l.msg === 'request rejected').length >= 5 * 10, 'rejections are logged at info');

  lines.length = 0;
  const boom = await app.inject({ method: 'GET', url: '/boom' });
  t.equal(boom.statusCode, 500);
  t.equal(boom.json().code, 'GW_INTERNAL');
  const errors = lines.filter((l) => (l.level as number) >= 50);
  t.equal(errors.length, 1, 'one error line for a 500');
  t.match(errors[0], { code: 'GW_INTERNAL', err: { type: 'TypeError', message: 'a bug', stack: /TypeError: a bug/ } }, 'with its stack');
});
