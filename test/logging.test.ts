// Logs are JSON lines with the request id, the event and correlation ids on publish, and never a key.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { ApiKeys } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { auth, KEY_FILE, KEYS, sampleEvent } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

t.test('publish logs carry request, event and correlation ids; Authorization is not logged', async (t) => {
  const nats = await startNats(t);
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  const app = await buildApp(configWith({ NATS_URL: [nats.url] }), {
    apiKeys: ApiKeys.fromDocument(KEY_FILE),
    logger: pino({ level: 'info' }, sink),
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
      raw.some((l) => l.includes(secret)),
      `no log line holds ${secret}`,
    );
});
