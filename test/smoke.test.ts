import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

t.test('publishes one event', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().seq, 1);
});
