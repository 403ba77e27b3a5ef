// Redrive with `dry_run: true` (what the explorer's "Redrive all…" asks first): it answers what a
// redrive would do, per dead letter and in total, and changes nothing; the redrive after it does
// exactly that.
import t from 'tap';
import { call, fetchEvents, ack, publish, putConsumer } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

type App = Parameters<typeof call>[0];

async function deadLetterSeqs(app: App, key: string, consumer?: string): Promise<number[]> {
  const res = await call(app, key, 'GET', `/v1/dead-letters${consumer ? `?consumer=${consumer}` : ''}`);
  return (res.body.dead_letters as { seq: number }[]).map((d) => d.seq);
}

/** Naks every delivery of the consumer until it has `count` dead letters (bounded). */
async function exhaust(app: App, name: string, count: number) {
  await eventually(
    `${count} dead letters of ${name}`,
    async () => {
      const batch = await fetchEvents(app, KEYS.a, name, { max: 50, wait_ms: 300 });
      if (batch.length > 0) await ack(app, KEYS.a, name, { naks: batch.map((e) => e.ack_token) });
      return (await deadLetterSeqs(app, KEYS.a, name)).length;
    },
    (n) => n >= count,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

t.test('a dry run counts what a redrive would do and changes nothing', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await putConsumer(app, KEYS.a, 'kept', { types: ['order.*'], from: 'all', ack_wait: 1000, max_deliver: 1 });
  await putConsumer(app, KEYS.a, 'gone', { types: ['order.*'], from: 'all', ack_wait: 1000, max_deliver: 1 });
  await publish(app, KEYS.a, { type: 'order.created', data: { order_id: 'o1' } });
  await publish(app, KEYS.a, { type: 'order.created', data: { order_id: 'o2' } });
  await exhaust(app, 'kept', 2);
  await exhaust(app, 'gone', 2);
  await call(app, KEYS.a, 'DELETE', '/v1/consumers/gone');
  const before = await deadLetterSeqs(app, KEYS.a);
  t.equal(before.length, 4);
  const kept = await deadLetterSeqs(app, KEYS.a, 'kept');

  const dry = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: {}, dry_run: true });
  t.equal(dry.status, 200, JSON.stringify(dry.body));
  t.match(dry.body, { dry_run: true, redriven: 0, would_redrive: 2 });
  const results = dry.body.results as { seq: number; status: string; consumer?: string; error?: { code: string } }[];
  t.same(
    results.filter((r) => r.status === 'would_redrive').map((r) => [r.seq, r.consumer]),
    kept.map((seq) => [seq, 'kept']),
    'those of an existing consumer would go back to it',
  );
  t.ok(
    results.filter((r) => r.status !== 'would_redrive').every((r) => r.status === 'failed' && r.error?.code === 'GW_NOT_FOUND'),
    'those of a deleted consumer would fail',
  );
  t.same(await deadLetterSeqs(app, KEYS.a), before, 'nothing left the dead letters');
  t.same(await fetchEvents(app, KEYS.a, 'kept', { wait_ms: 500 }), [], 'nothing was delivered again');

  const bySeq = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { seqs: [kept[0], 999_999], dry_run: true });
  t.same(bySeq.body, {
    results: [
      { seq: kept[0], status: 'would_redrive', consumer: 'kept' },
      { seq: 999_999, status: 'not_found' },
    ],
    redriven: 0,
    dry_run: true,
    would_redrive: 1,
  });
  const otherTenant = await call(app, KEYS.b, 'POST', '/v1/dead-letters/redrive', { filter: {}, dry_run: true });
  t.same(otherTenant.body, { results: [], redriven: 0, dry_run: true, would_redrive: 0 }, "another tenant's dry run sees none");

  const real = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: { consumer: 'kept' }, dry_run: false });
  t.match(real.body, { redriven: 2 });
  t.notOk('dry_run' in real.body, 'a real redrive does not say dry_run');
  t.same(await deadLetterSeqs(app, KEYS.a, 'kept'), [], 'the redrive did what the dry run said');
});
