// The pipelined publish path of src/bus/event-bus.ts: acknowledgements matched to their publish
// when many are in flight, and every way JetStream can fail to acknowledge (no answer, no stream,
// a refusal) ending as the same GW_* answer nats.js's own request() led to.
import { DiscardPolicy } from '@nats-io/jetstream';
import t from 'tap';
import { busInternals } from '../src/bus/testing.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { eventually } from './helpers/eventually.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('many publishes in flight each get their own acknowledgement', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const ids = Array.from({ length: 200 }, (_, i) => `evt_pipelined_${i}`);
  const answers = await Promise.all(
    ids.map((id) => app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent({ id }) })),
  );
  t.ok(
    answers.every((r) => r.statusCode === 202),
    'all accepted',
  );
  const bySeq = new Map(answers.map((r) => [r.json().seq as number, r.json().id as string]));
  t.equal(bySeq.size, ids.length, 'every publish got a seq of its own');
  const stored = await storedEvents(nats.url, 'events.ten_a.>');
  for (const s of stored) {
    if (bySeq.get(s.seq) !== (s.event as { id: string }).id)
      t.fail(`seq ${s.seq} answered for ${bySeq.get(s.seq)}, stores ${(s.event as { id: string }).id}`);
  }
  t.equal(stored.length, ids.length, 'each answered seq holds the event it was answered for');

  const again = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: sampleEvent({ id: 'evt_pipelined_7' }),
  });
  t.match(again.json(), { duplicate: true, seq: answers[7]?.json().seq }, 'a retry is acknowledged as the duplicate it is');
});

t.test('a publish JetStream never answers is a GW_PUBLISH_TIMEOUT after PUBLISH_TIMEOUT_MS', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { PUBLISH_TIMEOUT_MS: 300, RETRY_AFTER_SECONDS: 4 });
  // A stopped (not dead) server keeps the connection open but answers nothing.
  t.teardown(() => nats.resume());
  await nats.pause();
  const started = Date.now();
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  const took = Date.now() - started;
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'GW_PUBLISH_TIMEOUT');
  t.equal(res.headers['retry-after'], '4');
  t.ok(took >= 290 && took < 3000, `answered after the timeout, not before and not much later (${took} ms)`);
  nats.resume();

  const after = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(after.statusCode, 202, 'publishing works once the server answers again');
});

t.test('a publish held back behind unanswered ones still leaves, and times out like them', async (t) => {
  const nats = await startNats(t);
  // Long enough that the first four are still awaited when the fifth is asked for.
  const { app } = await startGateway(t, nats.url, { PUBLISH_TIMEOUT_MS: 2000 });
  const { nc } = busInternals(app.bus);
  t.teardown(() => nats.resume());
  await nats.pause();
  // Four in flight, never answered: a publish after them is held for the next acknowledgement,
  // which never comes; the hold's bound must send it anyway.
  const sentBefore = nc.stats().outMsgs;
  const post = () => app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  const first = [post(), post(), post(), post()];
  await eventually(
    'the first four sent',
    () => nc.stats().outMsgs - sentBefore,
    (n) => n >= 4,
  );
  const held = post();
  const answers = await Promise.race([
    Promise.all([...first, held]),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('a held publish never left')), 15_000).unref()),
  ]);
  t.same(
    answers.map((r) => [r.statusCode, r.json().code]),
    Array.from({ length: 5 }, () => [503, 'GW_PUBLISH_TIMEOUT']),
    'all five were sent and timed out',
  );
  nats.resume();
  const after = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(after.statusCode, 202, 'publishing works once the server answers again');
});

t.test('without the stream a publish is GW_NATS_UNAVAILABLE (no responders)', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await busInternals(app.bus).jsm.streams.delete('EVENTS');
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'GW_NATS_UNAVAILABLE');
  t.match(res.json().detail, /no responders/);
});

t.test('a publish JetStream refuses is GW_NATS_UNAVAILABLE with its reason', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const { jsm } = busInternals(app.bus);
  const info = await jsm.streams.info('EVENTS');
  await jsm.streams.update('EVENTS', { ...info.config, max_msgs: 1, discard: DiscardPolicy.New });
  const first = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(first.statusCode, 202);
  const refused = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(refused.statusCode, 503);
  t.equal(refused.json().code, 'GW_NATS_UNAVAILABLE');
  t.match(refused.json().detail, /JetStream refused the operation: maximum messages/);
});
