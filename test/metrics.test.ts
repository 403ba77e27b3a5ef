// Prometheus metrics against a real nats-server, scraped from the gateway's own metrics listener
// over HTTP: the counters move with publishes, subscriptions, deliveries, acks, naks and dead
// letters; the tenant label stays bounded; a metrics port in use is a warning, not a failed start;
// the Grafana dashboard only uses names the gateway exposes.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import t from 'tap';
import { ack, fetchEvents, putConsumer } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { freePort, parseExposition, type Scrape, scrape, value } from './helpers/metrics.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

async function post(url: string, path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('the counters move with publishes, subscriptions, deliveries, acks, naks and dead letters', async (t) => {
  const nats = await startNats(t);
  const port = await freePort();
  const gw = await startGateway(
    t,
    nats.url,
    { METRICS_PORT: port, METRICS_CONSUMER_SAMPLE_INTERVAL: 1000, CONSUMER_MAX_DELIVER: 2 },
    { listen: true },
  );

  const first = await scrape(port);
  t.equal(value(first, 'gateway_nats_connected'), 1, 'connected to NATS');
  t.equal(value(first, 'gateway_websocket_connections'), 0);
  t.ok(first.types.has('process_cpu_user_seconds_total') && first.types.has('nodejs_eventloop_lag_seconds'), "Node's default metrics");
  t.equal(value(first, 'gateway_websocket_subscriptions', { kind: 'live' }), 0, 'every subscription kind is exposed from the start');

  // Publishing: two stored, one duplicate (same id), one refused (unknown type).
  const a = await post(gw.url, '/v1/events', KEYS.a, sampleEvent());
  t.equal(a.status, 202);
  t.equal((await post(gw.url, '/v1/events', KEYS.a, sampleEvent())).status, 202);
  t.equal((await post(gw.url, '/v1/events', KEYS.a, sampleEvent({ id: a.body.id }))).status, 202);
  t.equal((await post(gw.url, '/v1/events', KEYS.a, sampleEvent({ type: 'no.such' }))).status, 422);
  const batch = await post(gw.url, '/v1/events/batch', KEYS.a, {
    events: [sampleEvent(), sampleEvent(), sampleEvent({ type: 'no.such' })],
  });
  t.equal(batch.status, 200);

  let s = await scrape(port);
  t.equal(value(s, 'gateway_events_published_total', { tenant: 'ten_a', outcome: 'stored' }), 4, 'stored: 2 single + 2 of the batch');
  t.equal(value(s, 'gateway_events_published_total', { tenant: 'ten_a', outcome: 'duplicate' }), 1);
  t.equal(value(s, 'gateway_events_published_total', { tenant: 'ten_a', outcome: 'rejected' }), 2, 'one single, one batch entry');
  t.ok(value(s, 'gateway_publish_ack_duration_seconds_count') >= 5, 'every JetStream acknowledgement timed');
  t.equal(value(s, 'gateway_batch_size_events_count'), 1);
  t.equal(value(s, 'gateway_batch_size_events_sum'), 3);
  t.equal(value(s, 'gateway_http_request_duration_seconds_count', { route: '/v1/events', method: 'POST', status_class: '2xx' }), 3);
  t.equal(value(s, 'gateway_http_request_duration_seconds_count', { route: '/v1/events', method: 'POST', status_class: '4xx' }), 1);
  t.equal(
    value(s, 'gateway_http_request_duration_seconds_count', { route: '/v1/consumers/:name', method: 'GET', status_class: '4xx' }),
    0,
    'routes by template',
  );
  await fetch(`${gw.url}/v1/consumers/nobody-${Date.now()}`, { headers: auth(KEYS.a) });
  await fetch(`${gw.url}/no/such/path`);
  s = await scrape(port);
  t.equal(
    value(s, 'gateway_http_request_duration_seconds_count', { route: '/v1/consumers/:name', method: 'GET', status_class: '4xx' }),
    1,
    'a path parameter is not a label value',
  );
  t.equal(value(s, 'gateway_http_request_duration_seconds_count', { route: 'unmatched', method: 'GET', status_class: '4xx' }), 1);

  // WebSockets: a live subscription and a client-ack group.
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'live', types: ['*'] });
  await ws.subscribe({ sub: 'g', types: ['*'], group: 'workers', from: 'new', ack: 'client' });
  s = await scrape(port);
  t.equal(value(s, 'gateway_websocket_connections'), 1);
  t.equal(value(s, 'gateway_websocket_subscriptions', { kind: 'live' }), 1);
  t.equal(value(s, 'gateway_websocket_subscriptions', { kind: 'group' }), 1);

  const one = await post(gw.url, '/v1/events', KEYS.a, sampleEvent());
  const seq = one.body.seq as number;
  await ws.next((f) => f.op === 'event' && f.sub === 'live' && f.seq === seq);
  await ws.next((f) => f.op === 'event' && f.sub === 'g' && f.seq === seq && f.delivery === 1);
  ws.send({ op: 'nak', sub: 'g', seq });
  await ws.next((f) => f.op === 'event' && f.sub === 'g' && f.seq === seq && f.delivery === 2);
  // CONSUMER_MAX_DELIVER=2: nak'ed again, the next delivery is dead-lettered instead.
  ws.send({ op: 'nak', sub: 'g', seq });
  s = await eventually(
    'the dead letter to be counted',
    () => scrape(port),
    (x) => value(x, 'gateway_dead_lettered_total', { sink: 'websocket' }) === 1,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  t.equal(value(s, 'gateway_deliveries_total', { sink: 'websocket' }), 3, 'live once, the group twice');
  t.equal(value(s, 'gateway_redeliveries_total', { sink: 'websocket' }), 1);
  t.equal(value(s, 'gateway_delivery_naks_total', { sink: 'websocket' }), 2);
  const two = await post(gw.url, '/v1/events', KEYS.a, sampleEvent());
  await ws.next((f) => f.op === 'event' && f.sub === 'g' && f.seq === two.body.seq);
  ws.send({ op: 'ack', sub: 'g', seq: two.body.seq });
  s = await eventually(
    'the ack to be counted',
    () => scrape(port),
    (x) => value(x, 'gateway_delivery_acks_total', { sink: 'websocket' }) === 1,
    { timeoutMs: 10_000, intervalMs: 50 },
  );

  // HTTP pull: a fetch and an ack by token count under their own sink.
  t.equal((await putConsumer(gw.app, KEYS.a, 'pull', { types: ['*'], from: 'all' })).status, 201);
  const fetched = await fetchEvents(gw.app, KEYS.a, 'pull', { max: 2, wait_ms: 2000 });
  t.equal(fetched.length, 2);
  await ack(gw.app, KEYS.a, 'pull', { acks: [fetched[0]?.ack_token], naks: [fetched[1]?.ack_token] });
  s = await scrape(port);
  t.equal(value(s, 'gateway_deliveries_total', { sink: 'http-fetch' }), 2);
  t.equal(value(s, 'gateway_delivery_acks_total', { sink: 'http-fetch' }), 1);
  t.equal(value(s, 'gateway_delivery_naks_total', { sink: 'http-fetch' }), 1);

  // The durable consumers' backlog, sampled every METRICS_CONSUMER_SAMPLE_INTERVAL.
  s = await eventually(
    'a consumer sample with both durable consumers',
    () => scrape(port),
    (x) => value(x, 'gateway_consumers_sampled') === 2,
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  t.ok(s.samples.has('gateway_consumer_pending_messages{tenant="ten_a",consumer="pull"}'));
  t.ok(value(s, 'gateway_consumer_pending_messages', { tenant: 'ten_a', consumer: 'pull' }) > 0, 'events not yet fetched are pending');
  t.ok(s.samples.has('gateway_consumer_ack_pending_messages{tenant="ten_a",consumer="workers"}'));

  // What the quotas call when they refuse.
  gw.app.metrics.rateLimited('ten_a', 'publish');
  s = await scrape(port);
  t.equal(value(s, 'gateway_rate_limited_total', { tenant: 'ten_a', limit: 'publish' }), 1);

  // The WebSocket goes: the gauges follow.
  await ws.close();
  await eventually(
    'the connection gauge to drop',
    () => scrape(port),
    (x) => value(x, 'gateway_websocket_connections') === 0 && value(x, 'gateway_websocket_subscriptions', { kind: 'group' }) === 0,
    { timeoutMs: 10_000, intervalMs: 50 },
  );

  // NATS restarts: the reconnect is counted.
  await nats.restart();
  await eventually(
    'the reconnect to be counted',
    () => scrape(port),
    (x) => value(x, 'gateway_nats_reconnects_total') >= 1 && value(x, 'gateway_nats_connected') === 1,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  t.ok(value(await scrape(port), 'gateway_nats_disconnects_total') >= 1);
});

t.test('the tenant label is bounded: the first METRICS_TENANT_LABEL_MAX tenants, then "other", or none at all', async (t) => {
  const nats = await startNats(t);
  const port = await freePort();
  const bounded = await startGateway(t, nats.url, { METRICS_PORT: port, METRICS_TENANT_LABEL_MAX: 1 });
  for (const key of [KEYS.a, KEYS.b, KEYS.a]) {
    const res = await bounded.app.inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload: sampleEvent() });
    t.equal(res.statusCode, 202);
  }
  bounded.app.metrics.rateLimited('ten_b', 'publish');
  const s = await scrape(port);
  t.equal(value(s, 'gateway_events_published_total', { tenant: 'ten_a', outcome: 'stored' }), 2);
  t.equal(value(s, 'gateway_events_published_total', { tenant: 'other', outcome: 'stored' }), 1, 'the second tenant is "other"');
  t.notOk(s.text.includes('ten_b'), 'no series names the tenant beyond the bound');
  t.equal(value(s, 'gateway_rate_limited_total', { tenant: 'other', limit: 'publish' }), 1);

  // 10,000 tenants: still METRICS_TENANT_LABEL_MAX + 1 series.
  const many = await startGateway(t, nats.url, { METRICS_TENANT_LABEL_MAX: 100 });
  for (let i = 0; i < 10_000; i++) many.app.metrics.eventsPublished(`ten_${i}`).stored.inc();
  const series = parseExposition(await many.app.metrics.text());
  const published = [...series.samples.keys()].filter((k) => k.startsWith('gateway_events_published_total{'));
  t.equal(published.length, 101 * 3, '100 tenants and "other", three outcomes each');
  t.equal(value(series, 'gateway_events_published_total', { tenant: 'other', outcome: 'stored' }), 9_900);

  const none = await startGateway(t, nats.url, { METRICS_TENANT_LABEL: 'none' });
  const res = await none.app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  t.equal(res.statusCode, 202);
  const plain = parseExposition(await none.app.metrics.text());
  t.equal(value(plain, 'gateway_events_published_total', { outcome: 'stored' }), 1, 'one series for all tenants');
  t.notOk(plain.text.includes('tenant="'), 'no tenant label anywhere but the sampled consumers');
});

t.test('a metrics port in use is a warning, and the gateway serves anyway', async (t) => {
  const nats = await startNats(t);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => taken.close(resolve)));
  const port = (taken.address() as { port: number }).port;
  const logs = captureLogs('info');
  const gw = await startGateway(t, nats.url, { METRICS_PORT: port }, { listen: true, logger: logs.logger });
  const warning = logs.lines.find((l) => l.level === 40 && String(l.msg).includes('already in use'));
  t.ok(warning, 'a warning names the port in use');
  t.equal(warning?.port, port);
  const health = await fetch(`${gw.url}/healthz`);
  t.equal(health.status, 200, 'the API answers');
  t.equal((await post(gw.url, '/v1/events', KEYS.a, sampleEvent())).status, 202, 'and publishes');
  // A second gateway on a free port beside it serves /metrics; other paths are 404.
  const port2 = await freePort();
  await startGateway(t, nats.url, { METRICS_PORT: port2 });
  t.equal((await fetch(`http://127.0.0.1:${port2}/other`)).status, 404);
  t.equal((await fetch(`http://127.0.0.1:${port2}/metrics`, { method: 'POST' })).status, 405);
});

t.test('the Grafana dashboard uses only metric names the gateway exposes', async (t) => {
  const nats = await startNats(t);
  const port = await freePort();
  await startGateway(t, nats.url, { METRICS_PORT: port });
  const s: Scrape = await scrape(port);
  const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana-dashboard.json', import.meta.url), 'utf8')) as unknown;
  const exprs: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'expr' || k === 'query') && typeof x === 'string') exprs.push(x);
        else walk(x);
      }
    }
  };
  walk(dashboard);
  t.ok(exprs.length >= 10, `the dashboard has queries (${exprs.length})`);
  const names = new Set(exprs.flatMap((e) => e.match(/\b(?:gateway|process|nodejs)_[a-z0-9_]+/g) ?? []));
  t.ok(names.size >= 15, `names used: ${[...names].join(', ')}`);
  for (const name of names) {
    const family = name.replace(/_(bucket|sum|count)$/, '');
    t.ok(s.types.has(name) || s.types.has(family), `${name} is exposed`);
  }
});
