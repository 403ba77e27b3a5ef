// Durable consumer names are injective in (tenant, name) (issue #12 item 7): with `gw_<tenant>_<name>`
// tenant `ten` + `alpha_x` and tenant `ten_alpha` + `x` were one JetStream consumer, so one tenant
// could block another's names. Consumers made under the old names stay reachable by their tenant.
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { Test } from 'tap';
import t from 'tap';
import { ApiKeys, sha256 } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { ack, call, fetchEvents, publish, putConsumer } from './helpers/consumers.ts';
import { startNats } from './helpers/nats.ts';

const TEN = 'key-tenant-ten';
const TEN_ALPHA = 'key-tenant-ten-alpha';

async function gateway(t: Test, natsUrl: string) {
  const all = ['publish', 'subscribe', 'read'];
  const app = await buildApp(configWith({ NATS_URL: [natsUrl], PUBLISH_TIMEOUT_MS: 2000 }), {
    apiKeys: ApiKeys.fromDocument({
      keys: [
        { tenant_id: 'ten', key_sha256: sha256(TEN).toString('hex'), scopes: all },
        { tenant_id: 'ten_alpha', key_sha256: sha256(TEN_ALPHA).toString('hex'), scopes: all },
      ],
    }),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}

for (const order of [
  ['ten', 'ten_alpha'],
  ['ten_alpha', 'ten'],
] as const) {
  t.test(`tenant ${order[0]} first: ten/alpha_x and ten_alpha/x are two consumers`, async (t) => {
    const nats = await startNats(t);
    const app = await gateway(t, nats.url);
    const who = { ten: { key: TEN, name: 'alpha_x' }, ten_alpha: { key: TEN_ALPHA, name: 'x' } } as const;
    for (const tenant of order) {
      const res = await putConsumer(app, who[tenant].key, who[tenant].name, { types: ['*'], from: 'all' });
      t.equal(res.status, 201, `${tenant} creates ${who[tenant].name}`);
    }
    await publish(app, TEN, { id: 'evt_ten' });
    await publish(app, TEN_ALPHA, { id: 'evt_ten_alpha' });
    for (const tenant of order) {
      const { key, name } = who[tenant];
      const events = await fetchEvents(app, key, name, { max: 10, wait_ms: 500 });
      t.same(
        events.map((e) => [e.event.tenant_id, e.event.id]),
        [[tenant, `evt_${tenant}`]],
        `${tenant} fetches its own event only`,
      );
      t.same((await ack(app, key, name, { acks: events.map((e) => e.ack_token) })).acks, [{ ok: true }]);
    }
    // Deleting one leaves the other.
    t.match((await call(app, TEN, 'DELETE', '/v1/consumers/alpha_x')).body, { deleted: true });
    t.equal((await call(app, TEN_ALPHA, 'GET', '/v1/consumers/x')).status, 200, "ten_alpha's consumer is still there");
    t.equal((await call(app, TEN, 'GET', '/v1/consumers/alpha_x')).status, 404);
    t.match((await call(app, TEN_ALPHA, 'DELETE', '/v1/consumers/x')).body, { deleted: true });
    t.equal((await call(app, TEN_ALPHA, 'GET', '/v1/consumers/x')).status, 404);
  });
}

t.test('a consumer made under the old name gw_<tenant>_<name> stays reachable by its tenant only', async (t) => {
  const nats = await startNats(t);
  const app = await gateway(t, nats.url);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  // As an earlier gateway made ten_alpha's consumer `x`.
  await jsm.consumers.add('EVENTS', {
    durable_name: 'gw_ten_alpha_x',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: ['events.ten_alpha.>', 'events_redrive.ten_alpha.x'],
    ack_wait: nanos(30_000),
    max_deliver: 8,
    inactive_threshold: nanos(86_400_000),
    metadata: { gw_tenant: 'ten_alpha', gw_name: 'x', gw_types: '["*"]', gw_from: '"all"', gw_max_deliver: '5' },
  });
  await publish(app, TEN_ALPHA, { id: 'evt_old' });

  t.match((await call(app, TEN_ALPHA, 'GET', '/v1/consumers/x')).body, { name: 'x', types: ['*'], from: 'all' }, 'its tenant reads it');
  t.equal((await call(app, TEN, 'GET', '/v1/consumers/alpha_x')).status, 404, 'the other tenant does not see it');
  const events = await fetchEvents(app, TEN_ALPHA, 'x', { max: 10, wait_ms: 500 });
  t.same(
    events.map((e) => e.event.id),
    ['evt_old'],
    'fetches from it',
  );
  t.same((await ack(app, TEN_ALPHA, 'x', { acks: [events[0]?.ack_token] })).acks, [{ ok: true }], 'acks on it');
  const updated = await putConsumer(app, TEN_ALPHA, 'x', { types: ['order.*'] });
  t.equal(updated.status, 200, 'PUT updates the old consumer instead of making a new one');
  t.same((await jsm.consumers.info('EVENTS', 'gw_ten_alpha_x')).config.metadata?.gw_types, '["order.*"]');

  t.equal((await putConsumer(app, TEN, 'alpha_x', { types: ['*'] })).status, 201, 'ten can still create alpha_x');
  t.match((await call(app, TEN_ALPHA, 'DELETE', '/v1/consumers/x')).body, { deleted: true }, 'the old consumer is deleted by its tenant');
  const left = [];
  for await (const c of jsm.consumers.list('EVENTS')) left.push(c.config.metadata?.gw_tenant);
  t.same(left, ['ten'], "only ten's consumer is left");
});
