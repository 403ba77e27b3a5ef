// Webhook content modes against a real nats-server and a real HTTP receiver on 127.0.0.1: the
// stored envelope (the default), a structured-mode and a binary-mode CloudEvent. The receiver reads
// each request with the `cloudevents` SDK's HTTP.toEvent, verifies the Standard Webhooks signature
// (over the body as sent) with the standardwebhooks package, and posts the parsed CloudEvent back,
// which the gateway recognises as the same event (a duplicate).
import { type CloudEvent, HTTP } from 'cloudevents';
import t from 'tap';
import { call, publish } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { type Received, startReceiver, verify } from './helpers/webhook-receiver.ts';
import { putWebhook } from './helpers/webhooks.ts';

const LOCAL = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true };

/** The request as the SDK's HTTP binding reads it (single-valued headers). */
function messageOf(r: Received): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return { headers, body: r.body };
}

t.test('webhook content modes: envelope, structured and binary CloudEvents, each signed over the body sent', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const receiver = await startReceiver(t);

  const secrets: Record<string, string> = {};
  for (const [name, mode] of [
    ['plain', undefined],
    ['structured', 'structured'],
    ['binary', 'binary'],
  ] as const) {
    const res = await putWebhook(app, KEYS.a, name, {
      url: `${receiver.url}/${name}`,
      types: ['order.*'],
      ...(mode === undefined ? {} : { content_mode: mode }),
    });
    t.equal(res.status, 201, JSON.stringify(res.body));
    t.equal(res.body.content_mode, mode ?? 'envelope', `${name}: content_mode answered (default envelope)`);
    secrets[name] = res.body.secret as string;
  }
  t.equal((await call(app, KEYS.a, 'GET', '/v1/webhooks/binary')).body.content_mode, 'binary', 'GET answers it');
  const listed = (await call(app, KEYS.a, 'GET', '/v1/webhooks')).body.webhooks as { name: string; content_mode: string }[];
  t.same(
    listed.map((w) => [w.name, w.content_mode]),
    [
      ['binary', 'binary'],
      ['plain', 'envelope'],
      ['structured', 'structured'],
    ],
    'the list answers it',
  );
  t.match(
    await putWebhook(app, KEYS.a, 'bad', { url: `${receiver.url}/bad`, types: ['*'], content_mode: 'xml' }),
    { status: 422, body: { code: 'GW_VALIDATION_FAILED', errors: [{ pointer: '/content_mode' }] } },
    'an unknown content mode is refused',
  );

  const stored = await publish(app, KEYS.a, {
    id: 'evt_hook_ce_1',
    type: 'order.created',
    source: 'order-service',
    data: { order_id: 'ord_hook_ce', note: 'ünïcode "quoted" 100%' },
    metadata: { correlation_id: 'saga_hook', region: 'eu west' },
  });
  const byPath = (path: string) => receiver.received.find((r) => r.path === path && r.id === stored.id);
  await eventually('a delivery per webhook', () => ['/plain', '/structured', '/binary'].every((p) => byPath(p) !== undefined), Boolean, {
    timeoutMs: 20_000,
  });
  const history = await call(app, KEYS.a, 'GET', '/v1/events?types=order.created&limit=10');
  const envelope = (history.body.events as { event: Record<string, unknown> }[]).find((e) => e.event.id === stored.id)?.event;
  t.ok(envelope, 'the event is stored');

  const plain = byPath('/plain') as Received;
  t.equal(plain.headers['content-type'], 'application/json');
  t.same(JSON.parse(plain.body), envelope, 'envelope: the body is the stored envelope');
  t.same(verify(secrets.plain as string, plain), envelope, 'envelope: the signature verifies');
  t.notOk(
    Object.keys(plain.headers).some((h) => h.startsWith('ce-')),
    'envelope: no ce-* headers',
  );

  for (const mode of ['structured', 'binary'] as const) {
    const r = byPath(`/${mode}`) as Received;
    t.equal(r.id, stored.id, `${mode}: webhook-id is the event id`);
    t.equal(
      r.headers['content-type'],
      mode === 'structured' ? 'application/cloudevents+json' : 'application/json',
      `${mode}: content-type`,
    );
    t.doesNotThrow(() => verify(secrets[mode] as string, r), `${mode}: the signature over the body sent verifies with standardwebhooks`);
    t.throws(() => verify(secrets.plain as string, r), `${mode}: another webhook's secret does not`);
    const ce = HTTP.toEvent(messageOf(r)) as CloudEvent;
    t.match(
      ce,
      {
        specversion: '1.0',
        id: stored.id,
        type: 'order.created',
        source: 'order-service',
        tenantid: 'ten_a',
        dataversion: '1.0',
        correlationid: 'saga_hook',
      },
      `${mode}: HTTP.toEvent gives the event`,
    );
    // Binary mode percent-encodes header values with a space (HTTP binding 1.0.2); SDK 10 leaves them encoded.
    t.equal(decodeURIComponent(String(ce.region)), 'eu west', `${mode}: its metadata entries are extensions`);
    t.same(ce.data, { order_id: 'ord_hook_ce', note: 'ünïcode "quoted" 100%' }, `${mode}: its data`);
    t.equal(new Date(ce.time as string).toISOString(), new Date(String(envelope?.timestamp)).toISOString(), `${mode}: its time`);
    if (mode === 'binary') {
      t.same(JSON.parse(r.body), ce.data, 'binary: the body is the data');
      t.equal(r.headers['ce-id'], stored.id);
      t.equal(r.headers['ce-specversion'], '1.0');
    } else {
      t.match(JSON.parse(r.body), { specversion: '1.0', id: stored.id, datacontenttype: 'application/json' });
    }

    // Posted back (in either mode), the parsed CloudEvent is the same event.
    for (const message of [HTTP.structured(ce), HTTP.binary(ce)]) {
      const again = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...auth(KEYS.a), ...(message.headers as Record<string, string>) },
        payload: message.body as string,
      });
      t.equal(again.statusCode, 202, again.body);
      t.match(again.json(), { id: stored.id, seq: stored.seq, duplicate: true }, `${mode}: re-posted, it is a duplicate`);
    }
  }

  // A PUT that changes the content mode applies to the next delivery; one that omits it goes back to envelope.
  const changed = await putWebhook(app, KEYS.a, 'plain', { url: `${receiver.url}/plain`, types: ['order.*'], content_mode: 'structured' });
  t.equal(changed.status, 200);
  t.equal(changed.body.content_mode, 'structured');
  const reverted = await putWebhook(app, KEYS.a, 'binary', { url: `${receiver.url}/binary`, types: ['order.*'] });
  t.equal(reverted.body.content_mode, 'envelope', 'an update without content_mode is back to envelope');
  const next = await eventually(
    'both changes to reach the running deliveries',
    async () => {
      const ev = await publish(app, KEYS.a, { type: 'order.created', data: { order_id: 'ord_next' } });
      await eventually(
        'its deliveries',
        () => ['/plain', '/binary'].every((p) => receiver.received.some((r) => r.path === p && r.id === ev.id)),
        Boolean,
        {
          timeoutMs: 20_000,
        },
      );
      return ev;
    },
    (ev) => {
      const p = receiver.received.find((r) => r.path === '/plain' && r.id === ev.id);
      const b = receiver.received.find((r) => r.path === '/binary' && r.id === ev.id);
      return p?.headers['content-type'] === 'application/cloudevents+json' && b?.headers['ce-id'] === undefined;
    },
    { timeoutMs: 30_000 },
  );
  const p = receiver.received.find((r) => r.path === '/plain' && r.id === next.id) as Received;
  t.match((HTTP.toEvent(messageOf(p)) as CloudEvent).id, next.id, 'now structured');
  verify(secrets.plain as string, p);
  const b = receiver.received.find((r) => r.path === '/binary' && r.id === next.id) as Received;
  t.match(JSON.parse(b.body), { id: next.id, tenant_id: 'ten_a' }, 'now the envelope');
  verify(secrets.binary as string, b);
});
