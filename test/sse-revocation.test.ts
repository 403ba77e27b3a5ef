// Server-Sent Events streams and the admin API, across two instances: a disabled tenant's streams
// and those opened with a revoked or expired key (directly or through a ticket traded for it) end
// with a final `event: close` record (`tenant_disabled`, `key_revoked`), as their WebSockets are
// closed with 4003 and 4001; other tenants' and other keys' streams go on.
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { call, publish } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { type SseClient, SseClient as Sse } from './helpers/sse-client.ts';

const ADMIN = 'bootstrap-admin-key-for-tests';
/** How long a change of the admin bucket may take to reach another instance (docs/admin.md). */
const REVOCATION_MS = 2000;

async function createKey(app: FastifyInstance, body: Record<string, unknown>) {
  const res = await call(app, ADMIN, 'POST', '/v1/admin/keys', body);
  if (res.status !== 201) throw new Error(`key not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { key: string; key_id: string };
}

async function ticketFor(app: FastifyInstance, key: string): Promise<string> {
  const res = await call(app, key, 'POST', '/v1/ws-tickets');
  if (res.status !== 201) throw new Error(`no ticket: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { ticket: string }).ticket;
}

/** The stream's final `event: close` record, parsed. */
function closeOf(sse: SseClient): Record<string, unknown> | undefined {
  const record = sse.records.find((r) => r.event === 'close' && r.id === undefined);
  return record ? (JSON.parse(record.data) as Record<string, unknown>) : undefined;
}

/** Waits for the `event: close` record (at most `timeoutMs`) and for the end of the stream. */
async function closedWithin(sse: SseClient, timeoutMs: number): Promise<Record<string, unknown>> {
  await sse.until('event: close', (c) => closeOf(c) !== undefined, timeoutMs);
  await sse.untilEnded(10_000);
  return closeOf(sse) as Record<string, unknown>;
}

t.test('disabling a tenant on one instance ends its event streams on another within 2 s (tenant_disabled)', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, WS_TICKET_SECRET: 's' }, { listen: true });

  const first = await publish(b.app, KEYS.a, { id: 'evt_before_disable' });
  const live = await Sse.open(t, b.url, { key: KEYS.a });
  const resumed = await Sse.open(t, b.url, { key: KEYS.aSubscribe, query: { from_seq: String(first.seq) } });
  const viaTicket = await Sse.open(t, b.url, { query: { ticket: await ticketFor(b.app, KEYS.a) } });
  const other = await Sse.open(t, b.url, { key: KEYS.b });
  for (const s of [live, resumed, viaTicket, other]) t.equal(s.status, 200);
  await resumed.until('the stored event', (c) => c.events.some((e) => e.id === first.seq));
  const second = await publish(b.app, KEYS.a, { id: 'evt_live_before_disable' });
  await live.until('a live event', (c) => c.events.some((e) => e.id === second.seq));

  const put = await call(a.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: false });
  t.equal(put.status, 200, JSON.stringify(put.body));
  const disabledAt = Date.now();
  const close = await closedWithin(live, REVOCATION_MS);
  t.comment(`the stream on the other instance got event: close ${Date.now() - disabledAt} ms after the tenant was disabled`);
  t.match(close, { reason: 'tenant_disabled', message: String, last_id: second.seq }, 'a final close record, then the end');
  t.equal(live.records.at(-1)?.event, 'close', 'the close record is the last');
  t.match(await closedWithin(resumed, REVOCATION_MS), { reason: 'tenant_disabled', last_id: second.seq }, 'a resumed stream too');
  t.match(await closedWithin(viaTicket, REVOCATION_MS), { reason: 'tenant_disabled' }, 'one opened with a ticket too');

  const again = await Sse.open(t, b.url, { key: KEYS.a });
  t.match({ status: again.status, code: again.problem.code }, { status: 403, code: 'GW_TENANT_DISABLED' }, 'reconnecting is refused');

  // The other tenant's stream stays open and goes on.
  t.notOk(other.ended, "another tenant's stream stays open");
  const forB = await publish(b.app, KEYS.b, { id: 'evt_other_tenant' });
  await other.until("the other tenant's event", (c) => c.events.some((e) => e.id === forB.seq));
  t.equal(closeOf(other), undefined);

  t.equal((await call(a.app, ADMIN, 'PUT', '/v1/admin/tenants/ten_a', { enabled: true })).status, 200);
  const back = await eventually(
    'the tenant streams again on the other instance',
    () => Sse.open(t, b.url, { key: KEYS.a }),
    (s) => s.status === 200,
    { timeoutMs: 10_000 },
  );
  const after = await publish(b.app, KEYS.a, { id: 'evt_after_enable' });
  await back.until('an event after enabling', (c) => c.events.some((e) => e.id === after.seq));
});

t.test('revoking a key ends its event streams on every instance, those opened with its tickets too (key_revoked)', async (t) => {
  const nats = await startNats(t);
  const a = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN }, { listen: true });
  const b = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN, WS_TICKET_SECRET: 's' }, { listen: true });
  const made = await createKey(a.app, { tenant_id: 'ten_a', scopes: ['subscribe'] });
  await eventually(
    'the key works on the other instance',
    async () => (await call(b.app, made.key, 'POST', '/v1/ws-tickets')).status,
    (s) => s === 201,
  );
  const direct = await Sse.open(t, b.url, { key: made.key });
  const viaTicket = await Sse.open(t, b.url, { query: { ticket: await ticketFor(b.app, made.key) } });
  const onA = await Sse.open(t, a.url, { key: made.key });
  const otherKey = await Sse.open(t, b.url, { key: KEYS.a });
  for (const s of [direct, viaTicket, onA, otherKey]) t.equal(s.status, 200);

  t.same((await call(a.app, ADMIN, 'DELETE', `/v1/admin/keys/${made.key_id}`)).body, { key_id: made.key_id, deleted: true });
  const revokedAt = Date.now();
  t.match(await closedWithin(direct, REVOCATION_MS), { reason: 'key_revoked', message: 'The API key was revoked' });
  t.comment(`the stream on the other instance got event: close ${Date.now() - revokedAt} ms after the revocation`);
  t.match(await closedWithin(viaTicket, REVOCATION_MS), { reason: 'key_revoked' }, 'the stream opened with its ticket');
  t.match(await closedWithin(onA, REVOCATION_MS), { reason: 'key_revoked' }, 'and the one on the instance that revoked it');

  const again = await Sse.open(t, b.url, { key: made.key });
  t.equal(again.status, 401, 'reconnecting with the key is refused');

  // The tenant's streams opened with other keys go on.
  t.notOk(otherKey.ended, "the tenant's stream of another key stays open");
  const ev = await publish(b.app, KEYS.a, { id: 'evt_after_revocation' });
  await otherKey.until('an event after the revocation', (c) => c.events.some((e) => e.id === ev.seq));
  t.equal(closeOf(otherKey), undefined);
});

t.test("an expired key's event streams end (key_revoked, the message says it expired)", async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { ADMIN_API_KEY: ADMIN }, { listen: true });
  const expiresAt = Date.now() + 2000;
  const made = await createKey(gw.app, { tenant_id: 'ten_a', scopes: ['subscribe'], expires_at: new Date(expiresAt).toISOString() });
  const sse = await Sse.open(t, gw.url, { key: made.key });
  t.equal(sse.status, 200);
  t.match(await closedWithin(sse, 15_000), { reason: 'key_revoked', message: 'The API key expired' });
  t.ok(Date.now() >= expiresAt, 'not before its expiry');
});
