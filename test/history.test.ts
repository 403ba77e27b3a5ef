// GET /v1/events against a real nats-server: every filter alone and combined, paging without gaps
// or duplicates, limits, bad parameters, and tenant isolation whatever the parameters or cursor.
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';

interface Stored {
  seq: number;
  stored_at: string;
  event: { id: string; type: string; tenant_id: string; source: string; metadata: { correlation_id: string } };
}

const TYPES = ['order.created', 'resource.created', 'dns.configured', 'order.provisioned', 'invoice.paid', 'order.failed'];
const SOURCES = ['order-service', 'provisioning-service', 'dns-service'];
const CORRELATIONS = ['req_one', 'req_two', 'req_three'];

const eventFor = (i: number, tenant: 'a' | 'b') => {
  const type = TYPES[i % TYPES.length] as string;
  return {
    id: `evt_${tenant}_${String(i).padStart(3, '0')}`,
    type,
    source: SOURCES[i % SOURCES.length],
    data: BUILTIN_CATALOGUE[type]?.example,
    metadata: { correlation_id: CORRELATIONS[i % CORRELATIONS.length] },
  };
};

async function publish(app: FastifyInstance, key: string, events: unknown[]): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/v1/events/batch', headers: auth(key), payload: { events } });
  if (res.statusCode !== 200 || res.json().failed !== 0) throw new Error(`seeding failed: ${res.body}`);
}

async function list(app: FastifyInstance, query: string, key: string = KEYS.a) {
  const res = await app.inject({ method: 'GET', url: `/v1/events${query ? `?${query}` : ''}`, headers: auth(key) });
  return { status: res.statusCode, body: res.json() as { events: Stored[]; next: string | null; code?: string }, res };
}

/** The `limit=` part of a query (limit applies per request; the cursor does not carry it). */
const limitOf = (query: string) => /(?:^|&)(limit=\d+)/.exec(query)?.[1]?.concat('&') ?? '';

/** Follows `next` until it is null (bounded), returning every page. */
async function readAll(app: FastifyInstance, query: string, key: string = KEYS.a, maxPages = 50) {
  const pages: Stored[][] = [];
  let q = query;
  for (let i = 0; i < maxPages; i++) {
    const { status, body } = await list(app, q, key);
    if (status !== 200) throw new Error(`page ${i}: ${status} ${JSON.stringify(body)}`);
    pages.push(body.events);
    if (body.next === null) return pages;
    q = `${limitOf(query)}cursor=${encodeURIComponent(body.next)}`;
  }
  throw new Error('paging did not finish');
}

const N = 60;

t.test('history', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  // Both tenants interleaved, in three publishes each, so every filter has something to exclude.
  for (let part = 0; part < 3; part++) {
    const range = Array.from({ length: N / 3 }, (_, k) => part * (N / 3) + k);
    await publish(
      app,
      KEYS.a,
      range.map((i) => eventFor(i, 'a')),
    );
    await publish(
      app,
      KEYS.b,
      range.map((i) => eventFor(i, 'b')),
    );
  }
  const all = (await list(app, 'limit=1000')).body.events;

  t.test('lists the tenant’s events in sequence order, only its own', async (t) => {
    t.equal(all.length, N);
    t.same(
      all.map((e) => e.event.id),
      Array.from({ length: N }, (_, i) => eventFor(i, 'a').id),
    );
    t.ok(
      all.every((e, i) => i === 0 || e.seq > (all[i - 1] as Stored).seq),
      'strictly increasing seq',
    );
    t.ok(all.every((e) => e.event.tenant_id === 'ten_a'));
    t.ok(all.every((e) => !Number.isNaN(Date.parse(e.stored_at))));
    const { body } = await list(app, 'limit=1000');
    t.equal(body.next, null, 'the end of history has no cursor');
  });

  t.test('filters by exact type, domain pattern, all, and several patterns', async (t) => {
    const exact = (await list(app, 'types=order.created&limit=1000')).body.events;
    t.same(
      exact.map((e) => e.event.id),
      all.filter((e) => e.event.type === 'order.created').map((e) => e.event.id),
    );
    t.ok(exact.length > 0);

    const domain = (await list(app, 'types=order.*&limit=1000')).body.events;
    t.same(
      domain.map((e) => e.event.id),
      all.filter((e) => e.event.type.startsWith('order.')).map((e) => e.event.id),
    );

    const star = (await list(app, 'types=*&limit=1000')).body.events;
    t.equal(star.length, N);

    const expected = all.filter((e) => e.event.type === 'dns.configured' || e.event.type === 'invoice.paid').map((e) => e.event.id);
    const comma = (await list(app, 'types=dns.configured,invoice.paid&limit=1000')).body.events;
    t.same(
      comma.map((e) => e.event.id),
      expected,
      'comma-separated',
    );
    const repeated = (await list(app, 'types=dns.configured&types=invoice.paid&limit=1000')).body.events;
    t.same(
      repeated.map((e) => e.event.id),
      expected,
      'repeated',
    );

    const overlapping = (await list(app, 'types=order.*,order.created,resource.created&limit=1000')).body.events;
    t.same(
      overlapping.map((e) => e.event.id),
      all.filter((e) => e.event.type.startsWith('order.') || e.event.type === 'resource.created').map((e) => e.event.id),
      'overlapping patterns return each event once, in order',
    );

    const none = await list(app, 'types=usage.recorded');
    t.same(none.body, { events: [], next: null });
  });

  t.test('filters by correlation id and by source, alone and combined', async (t) => {
    const corr = (await list(app, 'correlation_id=req_two&limit=1000')).body.events;
    t.same(
      corr.map((e) => e.event.id),
      all.filter((e) => e.event.metadata.correlation_id === 'req_two').map((e) => e.event.id),
    );
    t.ok(corr.length > 0);

    const source = (await list(app, 'source=dns-service&limit=1000')).body.events;
    t.same(
      source.map((e) => e.event.id),
      all.filter((e) => e.event.source === 'dns-service').map((e) => e.event.id),
    );

    const combined = (await list(app, 'types=order.*&correlation_id=req_one&source=order-service&limit=1000')).body.events;
    const want = all.filter(
      (e) => e.event.type.startsWith('order.') && e.event.metadata.correlation_id === 'req_one' && e.event.source === 'order-service',
    );
    t.ok(want.length > 0, 'the combination matches something');
    t.same(
      combined.map((e) => e.event.id),
      want.map((e) => e.event.id),
    );

    const combinedExact = (await list(app, 'types=order.created,dns.configured&correlation_id=req_three&limit=1000')).body.events;
    t.same(
      combinedExact.map((e) => e.event.id),
      all
        .filter((e) => ['order.created', 'dns.configured'].includes(e.event.type) && e.event.metadata.correlation_id === 'req_three')
        .map((e) => e.event.id),
    );
  });

  t.test('starts at from_seq, at since, and stops at until', async (t) => {
    const mid = all[25] as Stored;
    const fromSeq = (await list(app, `from_seq=${mid.seq}&limit=1000`)).body.events;
    t.same(
      fromSeq.map((e) => e.event.id),
      all.slice(25).map((e) => e.event.id),
    );

    const since = (await list(app, `since=${encodeURIComponent(mid.stored_at)}&limit=1000`)).body.events;
    t.same(
      since.map((e) => e.event.id),
      all.filter((e) => e.stored_at >= mid.stored_at).map((e) => e.event.id),
    );
    t.ok(since.length < N && since.length >= N - 25);

    const end = all[40] as Stored;
    const until = await list(app, `until=${encodeURIComponent(end.stored_at)}&limit=1000`);
    t.same(
      until.body.events.map((e) => e.event.id),
      all.filter((e) => e.stored_at <= end.stored_at).map((e) => e.event.id),
    );
    t.equal(until.body.next, null);

    const window = (
      await list(app, `since=${encodeURIComponent(mid.stored_at)}&until=${encodeURIComponent(end.stored_at)}&types=order.*&limit=1000`)
    ).body.events;
    t.same(
      window.map((e) => e.event.id),
      all
        .filter((e) => e.stored_at >= mid.stored_at && e.stored_at <= end.stored_at && e.event.type.startsWith('order.'))
        .map((e) => e.event.id),
    );

    const future = await list(app, 'since=2999-01-01T00:00:00Z');
    t.same(future.body, { events: [], next: null });
    const beyond = await list(app, `from_seq=${(all.at(-1) as Stored).seq + 1000}`);
    t.same(beyond.body, { events: [], next: null });
  });

  t.test('pages through everything with no gap or duplicate', async (t) => {
    const pages = await readAll(app, 'limit=7');
    t.equal(pages.length, Math.ceil(N / 7));
    t.ok(pages.slice(0, -1).every((p) => p.length === 7));
    t.same(
      pages.flat().map((e) => e.event.id),
      all.map((e) => e.event.id),
    );

    // Filters ride in the cursor.
    const filtered = await readAll(app, 'types=order.*,resource.created&source=provisioning-service&limit=2');
    const want = all.filter(
      (e) => (e.event.type.startsWith('order.') || e.event.type === 'resource.created') && e.event.source === 'provisioning-service',
    );
    t.ok(filtered.length > 2, 'more than two pages');
    t.same(
      filtered.flat().map((e) => e.event.id),
      want.map((e) => e.event.id),
    );

    // Repeating the same filters with the cursor is accepted; different ones are not.
    const first = await list(app, 'types=order.*&limit=3');
    const cursor = encodeURIComponent(first.body.next as string);
    const same = await list(app, `types=order.*&limit=3&cursor=${cursor}`);
    t.equal(same.status, 200);
    t.same(
      same.body.events.map((e) => e.event.id),
      all
        .filter((e) => e.event.type.startsWith('order.'))
        .slice(3, 6)
        .map((e) => e.event.id),
    );
    // `*` and no types are the same query.
    const star = (await list(app, 'types=*&limit=5')).body.next as string;
    for (const q of [`types=*&limit=5&cursor=${encodeURIComponent(star)}`, `limit=5&cursor=${encodeURIComponent(star)}`]) {
      const r = await list(app, q);
      t.equal(r.status, 200, q);
      t.same(
        r.body.events.map((e) => e.event.id),
        all.slice(5, 10).map((e) => e.event.id),
        q,
      );
    }
    const other = await list(app, `types=invoice.*&cursor=${cursor}`);
    t.equal(other.status, 400);
    t.equal(other.body.code, 'GW_INVALID_REQUEST');
  });

  t.test('applies the default and maximum limit', async (t) => {
    const more = Array.from({ length: 60 }, (_, i) => eventFor(N + i, 'a'));
    await publish(app, KEYS.a, more);
    const def = await list(app, '');
    t.equal(def.body.events.length, 100, 'default 100');
    t.type(def.body.next, 'string');
    const rest = await list(app, `cursor=${encodeURIComponent(def.body.next as string)}`);
    t.equal(rest.body.events.length, 20);
    t.equal(rest.body.next, null);
    t.equal((await list(app, 'limit=1000')).body.events.length, 120);
    t.equal((await list(app, 'limit=1')).body.events.length, 1);
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc']) {
      const r = await list(app, bad);
      t.equal(r.status, 400, bad);
      t.equal(r.body.code, 'GW_INVALID_REQUEST', bad);
    }
  });

  t.test('rejects bad parameters with problem+json', async (t) => {
    const bad = [
      'types=order',
      'types=Order.created',
      'types=order.created.extra',
      'types=>',
      'types=order.*,nope',
      'types=',
      'from_seq=0',
      'from_seq=-3',
      'from_seq=5&since=2026-01-01T00:00:00Z',
      'since=yesterday',
      'until=2026-13-01T00:00:00Z',
      'since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
      'correlation_id=a.b',
      'correlation_id=*',
      'source=',
      'cursor=not-a-cursor',
      `cursor=${Buffer.from(JSON.stringify({ v: 1, p: 0, t: [] })).toString('base64url')}`,
      `cursor=${Buffer.from(JSON.stringify({ v: 1, p: 3, t: ['order.>'] })).toString('base64url')}`,
      `cursor=${Buffer.from(JSON.stringify({ v: 1, p: 3, t: [], c: 'x.y' })).toString('base64url')}`,
    ];
    const { body } = await list(app, 'limit=1');
    bad.push(`cursor=${encodeURIComponent(body.next as string)}&from_seq=2`);
    bad.push(`cursor=${encodeURIComponent(body.next as string)}&since=2026-01-01T00:00:00Z`);
    for (const query of bad) {
      const r = await list(app, query);
      t.equal(r.status, 400, query);
      t.equal(r.res.headers['content-type'], 'application/problem+json; charset=utf-8', query);
      t.equal(r.body.code, 'GW_INVALID_REQUEST', query);
    }
  });

  t.test('needs a key with the read scope', async (t) => {
    const none = await app.inject({ method: 'GET', url: '/v1/events' });
    t.equal(none.statusCode, 401);
    const publishOnly = await list(app, '', KEYS.aPublish);
    t.equal(publishOnly.status, 403);
    t.equal(publishOnly.body.code, 'GW_FORBIDDEN_SCOPE');
    const readOnly = await list(app, 'limit=5', KEYS.aRead);
    t.equal(readOnly.status, 200);
    t.equal(readOnly.body.events.length, 5);
  });

  t.test('another tenant never sees these events, whatever the parameters or cursor', async (t) => {
    const bAll = (await readAll(app, 'limit=13', KEYS.b)).flat();
    t.equal(bAll.length, N);
    t.ok(bAll.every((e) => e.event.tenant_id === 'ten_b' && e.event.id.startsWith('evt_b_')));

    const aIds = new Set(all.map((e) => e.event.id));
    const probes = [
      'types=*&limit=1000',
      'correlation_id=req_one&limit=1000',
      'types=order.*&source=order-service&limit=1000',
      `from_seq=${(all[0] as Stored).seq}&limit=1000`,
    ];
    // ten_a's own cursors, handed to ten_b.
    let aCursor = (await list(app, 'limit=4')).body.next as string;
    for (let i = 0; i < 3; i++) {
      probes.push(`limit=1000&cursor=${encodeURIComponent(aCursor)}`);
      aCursor = (await list(app, `limit=4&cursor=${encodeURIComponent(aCursor)}`)).body.next as string;
    }
    for (const q of probes) {
      const r = await list(app, q, KEYS.b);
      t.equal(r.status, 200, q);
      t.ok(r.body.events.length > 0, `${q} answers ten_b's own events`);
      t.notOk(
        r.body.events.some((e) => aIds.has(e.event.id) || e.event.tenant_id !== 'ten_b'),
        `${q} shows nothing of ten_a`,
      );
    }
  });
});

t.test('a page cut by the scan budget hands back a cursor that continues without loss', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { HISTORY_MAX_SCAN: 5 });
  const events = Array.from({ length: 23 }, (_, i) => eventFor(i, 'a'));
  await publish(app, KEYS.a, events);
  // 1 event in 3 comes from dns-service: with 5 scanned per page, some pages hold fewer than limit.
  const first = await list(app, 'source=dns-service&limit=10');
  t.equal(first.status, 200);
  t.ok(first.body.events.length < 10, 'the page was cut short');
  t.type(first.body.next, 'string', 'and says where to go on');
  const pages = await readAll(app, 'source=dns-service&limit=10');
  t.same(
    pages.flat().map((e) => e.event.id),
    events.filter((e) => e.source === 'dns-service').map((e) => e.id),
  );
  t.ok(pages.length >= 4, 'several budget-bounded pages');
});

t.test('reads answer 503 problem+json with Retry-After while NATS is down', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  await publish(app, KEYS.a, [eventFor(0, 'a')]);
  t.equal((await list(app, '')).body.events.length, 1);
  await nats.kill();
  // The client notices the lost connection within a moment; poll until reads say so.
  const res = await eventually(
    'reads to notice NATS is gone',
    () => app.inject({ method: 'GET', url: '/v1/events', headers: auth(KEYS.a) }),
    (r) => r.statusCode !== 200,
    { timeoutMs: 15_000 },
  );
  t.equal(res.statusCode, 503, res.body);
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.ok(['GW_NATS_UNAVAILABLE', 'GW_PUBLISH_TIMEOUT'].includes(res.json().code), res.json().code);
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After');
  const trace = await app.inject({
    method: 'GET',
    url: `/v1/correlations/${eventFor(0, 'a').metadata.correlation_id}`,
    headers: auth(KEYS.a),
  });
  t.equal(trace.statusCode, 503);
});
