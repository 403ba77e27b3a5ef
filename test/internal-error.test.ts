// A bug is not an outage: an unexpected exception in a handler answers 500 GW_INTERNAL as
// application/problem+json, and is logged exactly once, at error level, with its stack.
import t from 'tap';
import { startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';

t.test('an unexpected exception in a handler: 500 GW_INTERNAL problem+json, logged once at error level with its stack', async (t) => {
  const nats = await startNats(t);
  const { logger, lines } = captureLogs();
  // A route of the test's own on the real app (same error handling as every route), with a real bug:
  // reading a property of undefined throws a TypeError.
  const { app } = await startGateway(
    t,
    nats.url,
    {},
    {
      logger,
      beforeReady: (app) => {
        app.get('/v1/test-only/bug', async () => {
          const order = JSON.parse('{}') as { customer: { id: string } };
          return { customer_id: order.customer.id };
        });
      },
    },
  );

  const res = await app.inject({ method: 'GET', url: '/v1/test-only/bug', headers: { 'x-request-id': 'req-bug-1' } });
  t.equal(res.statusCode, 500);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const problem = res.json();
  t.match(problem, {
    type: String,
    title: String,
    status: 500,
    detail: String,
    code: 'GW_INTERNAL',
    instance: '/v1/test-only/bug',
    request_id: 'req-bug-1',
  });
  t.notMatch(problem.detail, /customer|Cannot read/, 'the cause stays in the log, out of the answer');
  t.notOk(res.headers['retry-after'], 'no Retry-After: retrying a bug does not help');

  const errors = lines.filter((l) => (l.level as number) >= 50);
  t.equal(errors.length, 1, `logged once at error level or above (${errors.map((l) => l.msg).join(', ')})`);
  const [logged] = errors;
  t.equal(logged?.level, 50, 'at error level');
  t.match(logged, {
    request_id: 'req-bug-1',
    code: 'GW_INTERNAL',
    err: { type: 'TypeError', message: /reading 'id'/, stack: /^TypeError: .*reading 'id'.*\n\s+at .*internal-error\.test\.ts/ },
  });
});
