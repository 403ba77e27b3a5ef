// GET /v1/correlations/{id} against a real nats-server: the design's saga read back with its
// summary, a failing saga with its compensations, the failure rule, truncation, 404s, bad ids
// and tenant isolation. Other correlations and the other tenant are interleaved throughout.
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

interface Trace {
  correlation_id: string;
  truncated: boolean;
  events: { seq: number; event: { id: string; type: string; source: string; tenant_id: string; metadata: { correlation_id: string } } }[];
  summary: {
    count: number;
    first_timestamp: string;
    last_timestamp: string;
    sources: string[];
    types: string[];
    failed: boolean;
    failures: { seq: number; id: string; type: string; source: string; rule: string; reason?: string }[];
    compensations: { seq: number; id: string; type: string; follows_seq: number }[];
  };
  code?: string;
}

const step = (id: string, type: string, source: string, correlationId: string, timestamp: string, data?: Record<string, unknown>) => ({
  id,
  type,
  source,
  timestamp,
  data: data ?? BUILTIN_CATALOGUE[type]?.example,
  metadata: { correlation_id: correlationId },
});

async function publishOne(app: FastifyInstance, key: string, event: object): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload: event });
  if (res.statusCode !== 202) throw new Error(`publish failed: ${res.body}`);
  return res.json().seq as number;
}

async function trace(app: FastifyInstance, id: string, key: string = KEYS.a) {
  const res = await app.inject({ method: 'GET', url: `/v1/correlations/${id}`, headers: auth(key) });
  return { status: res.statusCode, body: res.json() as Trace, res };
}

/** Publishes each step, with noise (another correlation of the tenant, the other tenant) between steps. */
async function publishSaga(app: FastifyInstance, steps: ReturnType<typeof step>[], noiseTag: string): Promise<number[]> {
  const seqs: number[] = [];
  for (const [i, s] of steps.entries()) {
    await publishOne(app, KEYS.a, step(`${noiseTag}_a_${i}`, 'resource.updated', 'noise-service', `${noiseTag}_other`, s.timestamp));
    seqs.push(await publishOne(app, KEYS.a, s));
    // The other tenant uses the very same correlation id.
    await publishOne(app, KEYS.b, { ...s, id: `${s.id}_b`, source: 'tenant-b-service' });
  }
  return seqs;
}

t.test('correlations', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);

  t.test('the design saga reads back in order with its summary', async (t) => {
    const saga = [
      step('evt_s1', 'order.created', 'order-service', 'req_saga_ok', '2026-03-15T10:00:00Z'),
      step('evt_s2', 'resource.created', 'provisioning-service', 'req_saga_ok', '2026-03-15T10:01:00Z'),
      step('evt_s3', 'dns.configured', 'dns-service', 'req_saga_ok', '2026-03-15T10:02:30Z'),
      step('evt_s4', 'order.provisioned', 'monitoring-service', 'req_saga_ok', '2026-03-15T10:05:22Z'),
    ];
    const seqs = await publishSaga(app, saga, 'ok');
    const { status, body } = await trace(app, 'req_saga_ok');
    t.equal(status, 200);
    t.equal(body.correlation_id, 'req_saga_ok');
    t.equal(body.truncated, false);
    t.same(
      body.events.map((e) => e.event.id),
      ['evt_s1', 'evt_s2', 'evt_s3', 'evt_s4'],
    );
    t.same(
      body.events.map((e) => e.seq),
      seqs,
    );
    t.ok(body.events.every((e) => e.event.tenant_id === 'ten_a' && e.event.metadata.correlation_id === 'req_saga_ok'));
    t.same(body.summary, {
      count: 4,
      first_timestamp: '2026-03-15T10:00:00.000Z',
      last_timestamp: '2026-03-15T10:05:22.000Z',
      sources: ['order-service', 'provisioning-service', 'dns-service', 'monitoring-service'],
      types: ['order.created', 'resource.created', 'dns.configured', 'order.provisioned'],
      failed: false,
      failures: [],
      compensations: [],
    });

    // The other tenant sees only its own copy of the same correlation id.
    const b = await trace(app, 'req_saga_ok', KEYS.b);
    t.equal(b.status, 200);
    t.same(
      b.body.events.map((e) => e.event.id),
      ['evt_s1_b', 'evt_s2_b', 'evt_s3_b', 'evt_s4_b'],
    );
    t.same(b.body.summary.sources, ['tenant-b-service']);
  });

  t.test('a failing saga names the failed step and the compensating events', async (t) => {
    const saga = [
      step('evt_f1', 'order.created', 'order-service', 'req_saga_fail', '2026-03-16T09:00:00Z'),
      step('evt_f2', 'resource.created', 'provisioning-service', 'req_saga_fail', '2026-03-16T09:01:00Z'),
      step('evt_f3', 'order.failed', 'dns-service', 'req_saga_fail', '2026-03-16T09:02:00Z', {
        order_id: 'ord_xyz789',
        reason: 'DNS zone not delegated',
      }),
      step('evt_f4', 'resource.deleted', 'provisioning-service', 'req_saga_fail', '2026-03-16T09:03:00Z'),
      step('evt_f5', 'order.cancelled', 'order-service', 'req_saga_fail', '2026-03-16T09:04:00Z'),
    ];
    const seqs = await publishSaga(app, saga, 'fail');
    const { status, body } = await trace(app, 'req_saga_fail');
    t.equal(status, 200);
    t.same(
      body.events.map((e) => e.event.id),
      ['evt_f1', 'evt_f2', 'evt_f3', 'evt_f4', 'evt_f5'],
    );
    t.equal(body.summary.failed, true);
    t.same(body.summary.failures, [
      {
        seq: seqs[2],
        id: 'evt_f3',
        type: 'order.failed',
        source: 'dns-service',
        timestamp: '2026-03-16T09:02:00Z',
        rule: 'type',
        reason: 'DNS zone not delegated',
      },
      {
        seq: seqs[4],
        id: 'evt_f5',
        type: 'order.cancelled',
        source: 'order-service',
        timestamp: '2026-03-16T09:04:00Z',
        rule: 'type',
        reason: 'customer request',
      },
    ]);
    t.same(
      body.summary.compensations.map((c) => [c.id, c.type, c.follows_seq]),
      [
        ['evt_f4', 'resource.deleted', seqs[2]],
        ['evt_f5', 'order.cancelled', seqs[2]],
      ],
    );
    t.equal(body.summary.first_timestamp, '2026-03-16T09:00:00.000Z');
    t.equal(body.summary.last_timestamp, '2026-03-16T09:04:00.000Z');

    // The other tenant's copy of the id never mixes in.
    t.notOk(body.events.some((e) => e.event.id.endsWith('_b')));
  });

  t.test('data carrying an error or a failure status marks a failed step', async (t) => {
    await publishOne(app, KEYS.a, step('evt_d1', 'resource.created', 'provisioning-service', 'req_data_fail', '2026-03-17T08:00:00Z'));
    await publishOne(
      app,
      KEYS.a,
      step('evt_d2', 'resource.status_changed', 'provisioning-service', 'req_data_fail', '2026-03-17T08:01:00Z', {
        id: 'res_vm_001',
        type: 'virtual_machine',
        status: 'failed',
        previous_status: 'provisioning',
      }),
    );
    await publishOne(
      app,
      KEYS.a,
      step('evt_d3', 'dns.configured', 'dns-service', 'req_data_fail', '2026-03-17T08:02:00Z', {
        resource_id: 'res_vm_001',
        hostname: 'vm1.example.net',
        error: { message: 'zone locked' },
      }),
    );
    await publishOne(app, KEYS.a, step('evt_d4', 'resource.deleted', 'provisioning-service', 'req_data_fail', '2026-03-17T08:03:00Z'));
    const { body } = await trace(app, 'req_data_fail');
    t.same(
      body.summary.failures.map((f) => [f.id, f.rule, f.reason]),
      [
        ['evt_d2', 'data.status', undefined],
        ['evt_d3', 'data.error', 'zone locked'],
      ],
    );
    t.same(
      body.summary.compensations.map((c) => c.id),
      ['evt_d3', 'evt_d4'],
    );
    // resource.deleted has status "deleted": not a failure.
    t.notOk(body.summary.failures.some((f) => f.id === 'evt_d4'));
  });

  t.test('an unknown correlation, or one of another tenant only, is 404', async (t) => {
    const missing = await trace(app, 'req_nothing_here');
    t.equal(missing.status, 404);
    t.equal(missing.body.code, 'GW_NOT_FOUND');
    t.equal(missing.res.headers['content-type'], 'application/problem+json; charset=utf-8');

    await publishOne(app, KEYS.b, step('evt_only_b', 'order.created', 'order-service', 'req_only_b', '2026-03-18T08:00:00Z'));
    const fromA = await trace(app, 'req_only_b');
    t.equal(fromA.status, 404, "ten_a cannot see ten_b's correlation");
    const fromB = await trace(app, 'req_only_b', KEYS.b);
    t.equal(fromB.status, 200);
    t.same(
      fromB.body.events.map((e) => e.event.id),
      ['evt_only_b'],
    );
  });

  t.test('bad correlation ids and missing scopes are refused', async (t) => {
    // The longest valid id (128 characters) is looked up like any other.
    const longest = 'x'.repeat(128);
    await publishOne(app, KEYS.a, step('evt_long', 'order.created', 'order-service', longest, '2026-03-18T09:00:00Z'));
    const long = await trace(app, longest);
    t.equal(long.status, 200, long.res.body);
    t.same(
      long.body.events.map((e) => e.event.id),
      ['evt_long'],
    );
    for (const bad of ['a.b', '*', '%3E', 'x'.repeat(129), 'sp%20ace']) {
      const r = await trace(app, bad);
      t.equal(r.status, 400, bad);
      t.equal(r.body.code, 'GW_INVALID_REQUEST', bad);
    }
    const none = await app.inject({ method: 'GET', url: '/v1/correlations/req_saga_ok' });
    t.equal(none.statusCode, 401);
    const publishOnly = await trace(app, 'req_saga_ok', KEYS.aPublish);
    t.equal(publishOnly.status, 403);
    const readOnly = await trace(app, 'req_saga_ok', KEYS.aRead);
    t.equal(readOnly.status, 200);
  });
});

t.test('a correlation larger than CORRELATION_MAX_EVENTS is truncated and says so', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { CORRELATION_MAX_EVENTS: 3 });
  for (let i = 0; i < 5; i++) {
    await publishOne(app, KEYS.a, step(`evt_big_${i}`, 'usage.recorded', 'metering', 'req_big', `2026-03-19T08:0${i}:00Z`));
    await publishOne(app, KEYS.a, step(`evt_small_${i}`, 'usage.recorded', 'metering', `req_small_${i}`, `2026-03-19T08:0${i}:00Z`));
  }
  const big = await trace(app, 'req_big');
  t.equal(big.status, 200);
  t.equal(big.body.truncated, true);
  t.same(
    big.body.events.map((e) => e.event.id),
    ['evt_big_0', 'evt_big_1', 'evt_big_2'],
  );
  t.equal(big.body.summary.count, 3);
  const small = await trace(app, 'req_small_2');
  t.equal(small.body.truncated, false);
  t.same(
    small.body.events.map((e) => e.event.id),
    ['evt_small_2'],
  );
});
