// GET /v1/consumers: the caller's tenant's durable consumers, with their position and last
// activity, and never another tenant's, even where names overlap (`ten` + `alpha_x` and
// `ten_alpha` + `x`) or a consumer still has its old `gw_<tenant>_<name>` name.
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { pino } from 'pino';
import t from 'tap';
import { ApiKeys, sha256 } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { call, fetchEvents, publish, putConsumer } from './helpers/consumers.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const TEN = 'key-tenant-ten';
const TEN_ALPHA = 'key-tenant-ten-alpha';
const READ_ONLY = 'key-tenant-ten-read-only';

t.test('each tenant lists its own consumers only, with pending, unacked and last activity', async (t) => {
  const nats = await startNats(t);
  const all = ['publish', 'subscribe', 'read'];
  const app = await buildApp(configWith({ NATS_URL: [nats.url], PUBLISH_TIMEOUT_MS: 2000 }), {
    apiKeys: ApiKeys.fromDocument({
      keys: [
        { tenant_id: 'ten', key_sha256: sha256(TEN).toString('hex'), scopes: all },
        { tenant_id: 'ten_alpha', key_sha256: sha256(TEN_ALPHA).toString('hex'), scopes: all },
        { tenant_id: 'ten', key_sha256: sha256(READ_ONLY).toString('hex'), scopes: ['read'] },
      ],
    }),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  t.same((await call(app, TEN, 'GET', '/v1/consumers')).body, { consumers: [] }, 'none yet');
  t.match(await call(app, READ_ONLY, 'GET', '/v1/consumers'), { status: 403, body: { code: 'GW_FORBIDDEN_SCOPE' } });

  await putConsumer(app, TEN, 'alpha_x', { types: ['order.*'], from: 'all', filter: { data: { amount: [{ numeric: ['>', 10] }] } } });
  await putConsumer(app, TEN, 'billing', { types: ['*'], from: 'all' });
  await putConsumer(app, TEN_ALPHA, 'x', { types: ['*'], from: 'all' });
  // A WebSocket group is a durable consumer too.
  const ws = await WsClient.connect(t, url, { key: TEN });
  await ws.subscribe({ sub: 'g', types: ['invoice.*'], group: 'workers' });
  // As an earlier gateway made ten_alpha's consumer `old`: listed for ten_alpha, not for `ten`
  // (whose prefix gw_ten_ it shares).
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('EVENTS', {
    durable_name: 'gw_ten_alpha_old',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: ['events.ten_alpha.>', 'events_redrive.ten_alpha.old'],
    ack_wait: nanos(30_000),
    max_deliver: 8,
    inactive_threshold: nanos(86_400_000),
    metadata: { gw_tenant: 'ten_alpha', gw_name: 'old', gw_types: '["*"]', gw_from: '"all"', gw_max_deliver: '5' },
  });

  await publish(app, TEN, { id: 'evt_1' });
  await publish(app, TEN, { id: 'evt_2' });
  const fetched = await fetchEvents(app, TEN, 'billing', { max: 1, wait_ms: 1000 });
  t.equal(fetched.length, 1);

  const mine = (await call(app, TEN, 'GET', '/v1/consumers')).body as { consumers: Record<string, unknown>[] };
  t.same(
    mine.consumers.map((c) => c.name),
    ['alpha_x', 'billing', 'workers'],
    "ten's consumers, by name: not ten_alpha's x (its JetStream name shares no prefix) nor its old one (which does)",
  );
  const billing = mine.consumers.find((c) => c.name === 'billing');
  t.match(billing, { types: ['*'], pending: 1, unacked: 1, last_delivered_seq: Number, last_active: String });
  t.ok(Date.parse(String(billing?.last_active)) > Date.now() - 60_000, 'last active just now');
  t.match(
    mine.consumers.find((c) => c.name === 'alpha_x'),
    { types: ['order.*'], filter: { data: { amount: [{ numeric: ['>', 10] }] } } },
  );
  t.notOk('last_active' in (mine.consumers.find((c) => c.name === 'alpha_x') ?? {}), 'never active: no last_active');

  const theirs = (await call(app, TEN_ALPHA, 'GET', '/v1/consumers')).body as { consumers: { name: string }[] };
  t.same(
    theirs.consumers.map((c) => c.name),
    ['old', 'x'],
    "ten_alpha's consumers, its legacy-named one included",
  );
});
