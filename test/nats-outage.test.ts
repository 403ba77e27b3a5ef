// NATS going away mid-run: publishes answer 503 with Retry-After, never a 2xx for an event that was
// not stored; after NATS is back, 202 again and every acknowledged event is still in the stream.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('NATS stopped and restarted', async (t) => {
  let nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { PUBLISH_TIMEOUT_MS: 1000, RETRY_AFTER_SECONDS: 3 });
  const publish = (id: string) => app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent({ id }) });
  const acked = new Set<string>();
  const record = (id: string, res: { statusCode: number }) => {
    if (res.statusCode === 202) acked.add(id);
  };

  for (let i = 0; i < 20; i++) record(`evt_before_${i}`, await publish(`evt_before_${i}`));
  t.equal(acked.size, 20);

  // Kill NATS while publishes are in flight: each one is either acknowledged or a 503.
  const inFlight = Array.from({ length: 30 }, (_, i) => publish(`evt_during_${i}`).then((res) => ({ id: `evt_during_${i}`, res })));
  await nats.kill();
  for (const { id, res } of await Promise.all(inFlight)) {
    t.ok(res.statusCode === 202 || res.statusCode === 503, `${id}: 202 or 503, got ${res.statusCode}`);
    record(id, res);
  }

  const down = await publish('evt_while_down');
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '3');
  t.match(down.headers['content-type'], /application\/problem\+json/);
  t.ok(['GW_NATS_UNAVAILABLE', 'GW_PUBLISH_TIMEOUT'].includes(down.json().code), down.json().code);
  const batch = await app.inject({ method: 'POST', url: '/v1/events/batch', headers: auth(KEYS.a), payload: { events: [sampleEvent()] } });
  t.equal(batch.statusCode, 503, 'a batch while NATS is down is one 503');
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().code, 'GW_NOT_READY');
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive');

  nats = await nats.restart();
  const back = await eventually(
    'a publish to be accepted after the restart',
    async () => {
      const res = await publish('evt_after_restart');
      record('evt_after_restart', res);
      return res.statusCode;
    },
    (status) => status === 202,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  t.equal(back, 202, 'publishing works again after NATS restarts');
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);

  const stored = new Set((await storedEvents(nats.url, 'events.ten_a.>')).map((s) => (s.event as { id: string }).id));
  const lost = [...acked].filter((id) => !stored.has(id));
  t.same(lost, [], `every acknowledged event is in the stream (${acked.size} acknowledged)`);
});
