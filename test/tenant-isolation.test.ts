// No input can make an event land in another tenant's subject space.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('cross-tenant attempts', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const asA = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth(KEYS.a), ...headers }, payload: payload as object });

  const attempts: [string, unknown, Record<string, string>?][] = [
    ['tenant_id of another tenant', sampleEvent({ tenant_id: 'ten_b' })],
    ['tenant_id with a wildcard', sampleEvent({ tenant_id: '*' })],
    ['tenant_id with a subject separator', sampleEvent({ tenant_id: 'ten_a.ten_b' })],
    ['type that climbs into another tenant', sampleEvent({ type: 'ten_b.order.created' })],
    ['type with a full wildcard', sampleEvent({ type: 'order.>' })],
    ['correlation id with subject separators', sampleEvent({ metadata: { correlation_id: 'x.ten_b.order' } })],
    ['correlation id wildcard', sampleEvent({ metadata: { correlation_id: '>' } })],
    ['correlation header with separators', sampleEvent(), { 'x-correlation-id': 'a.b.c' }],
    ['event id with separators', sampleEvent({ id: 'evt.ten_b' })],
    ['event id with whitespace', sampleEvent({ id: 'evt 1' })],
    ['tenant in metadata', sampleEvent({ metadata: { correlation_id: 'c', tenant_id: 'ten_b' } })],
  ];
  for (const [name, payload, headers] of attempts) {
    const res = await asA(payload, headers);
    if (res.statusCode === 202) {
      // Accepted only when the event stays the key's own: check where it landed.
      const [stored] = await storedEvents(nats.url, 'events.>', { fromSeq: res.json().seq, max: 1 });
      t.match(stored?.subject, /^events\.ten_a\.[a-z_]+\.[a-z_]+\.[A-Za-z0-9_-]+$/, `${name}: stored in ten_a's space`);
      t.equal((stored!.event as { tenant_id: string }).tenant_id, 'ten_a', `${name}: tenant_id is ten_a`);
    } else {
      t.ok([400, 403, 422].includes(res.statusCode), `${name}: refused (${res.statusCode} ${res.json().code})`);
    }
  }
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/events/batch',
    headers: auth(KEYS.a),
    payload: { events: attempts.map(([, p]) => p) },
  });
  t.equal(batch.statusCode, 200);
  t.equal((await storedEvents(nats.url, 'events.ten_b.>')).length, 0, "nothing ever reached ten_b's space");
  const all = await storedEvents(nats.url, 'events.>');
  t.ok(
    all.every((s) => s.subject.startsWith('events.ten_a.')),
    'every stored subject is ten_a',
  );
  t.ok(
    all.every((s) => (s.event as { tenant_id: string }).tenant_id === 'ten_a'),
    'every stored envelope is ten_a',
  );
});
