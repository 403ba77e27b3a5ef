// NATS restarts under open WebSocket subscriptions: the connection survives, and every
// subscription either carries on or says it ended.
import t from 'tap';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

t.test('subscriptions after a NATS restart', async (t) => {
  let nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'live', types: ['*'] });
  await ws.subscribe({ sub: 'replay', types: ['*'], from: 'all' });
  await ws.subscribe({ sub: 'acked', types: ['*'], ack: 'client' });
  await ws.subscribe({ sub: 'group', types: ['*'], ack: 'client', group: 'g' });
  const before = await publish(gw.app, KEYS.a);
  for (const s of ['live', 'replay', 'acked', 'group']) t.equal((await ws.next((f) => f.op === 'event' && f.sub === s)).seq, before.seq, s);
  await nats.stop();
  // Restart only once the gateway has noticed the outage (else it may never see one).
  await eventually(
    'the gateway to notice NATS is gone',
    () => gw.app.inject({ method: 'GET', url: '/readyz' }),
    (r) => r.statusCode === 503,
  );
  nats = await nats.restart();
  const after = await eventually(
    'a publish to be accepted after the restart',
    () => publish(gw.app, KEYS.a).catch(() => undefined),
    (stored) => stored !== undefined,
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  t.ok(after, 'publishing works again');
  const got: Record<string, unknown> = {};
  let resumeFrom: unknown;
  const end = Date.now() + 10_000;
  while (Date.now() < end && Object.keys(got).length < 4) {
    const f = await ws.next(() => true, Math.max(1, end - Date.now())).catch(() => undefined);
    if (!f) break;
    if (f.op === 'event' && f.seq === after?.seq) got[f.sub as string] = 'event';
    else if (f.op === 'error') {
      got[f.sub as string] = f.code;
      if (f.sub === 'acked') resumeFrom = f.resume_from;
    } else t.comment(JSON.stringify(f));
  }
  t.same(
    got,
    { live: 'event', replay: 'event', group: 'event', acked: 'GW_NOT_FOUND' },
    'live and replay carry on; a group waits out the outage; a memory consumer lost with the server ends its subscription with an error frame',
  );
  t.equal(resumeFrom, before.seq, 'the error frame says where to resume: the first event not acknowledged');
  await ws.subscribe({ sub: 'acked', types: ['*'], ack: 'client', from: { seq: after?.seq as number } });
  t.equal((await ws.next((f) => f.op === 'event' && f.sub === 'acked')).seq, after?.seq, 'resubscribing from the seq resumes it');
});
