// The least NATS permissions of docs/operations.md, proven: a nats-server whose only user for the
// gateway has exactly the permissions block of that document (read from it, byte for byte) serves
// two gateways through publishing, WebSocket live, replay, client-ack and group subscriptions,
// tickets, durable consumers (create, fetch, ack), history, correlations, dead letters and their
// redrive, and the quota presence, without a single permission violation in the server's log; and
// the deny list holds (the event stream cannot be deleted or purged with that user).
import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import t from 'tap';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { ack, call, fetchEvents, publish, putConsumer } from './helpers/consumers.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const MARKER = '<!-- nats-permissions';

/** The fenced block that follows the marker in docs/operations.md. */
export function documentedPermissions(): string {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const at = doc.indexOf(MARKER);
  if (at < 0) throw new Error('docs/operations.md has no nats-permissions marker');
  const m = /```[^\n]*\n([\s\S]*?)\n```/.exec(doc.slice(at));
  if (!m?.[1]) throw new Error('no fenced block after the nats-permissions marker');
  return m[1];
}

const USER = 'gateway';
const PASSWORD = 'gateway-test-password';

t.test('the documented permissions are enough, and no more is asked for', async (t) => {
  const block = documentedPermissions();
  t.match(block, /^permissions = \{/, 'the block read from the document');
  const serverLog: string[] = [];
  const nats = await startNats(t, {
    config: `accounts {\n  GATEWAY: {\n    jetstream: enabled\n    users: [\n      { user: "${USER}", password: "${PASSWORD}", ${block} }\n    ]\n  }\n}\n`,
    log: (line) => serverLog.push(line),
  });
  const settings = {
    NATS_USER: USER,
    NATS_PASSWORD: PASSWORD,
    WS_TICKET_SECRET: 'shared-ticket-secret',
    ACK_TOKEN_SECRET: 'shared-ack-secret',
    // A limit, so the instances join the quota presence (its KV bucket).
    QUOTA_WS_CONNECTIONS: 100,
    QUOTA_SYNC_INTERVAL: 500,
  };
  const one = await startGateway(t, nats.url, settings, { listen: true });
  const two = await startGateway(t, nats.url, settings, { listen: true });
  const { app, url } = one;

  await t.test('publishing, one and a batch', async (t) => {
    t.equal((await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() })).statusCode, 202);
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: auth(KEYS.a),
      payload: {
        events: [sampleEvent({ metadata: { correlation_id: 'perm_corr' } }), sampleEvent({ metadata: { correlation_id: 'perm_corr' } })],
      },
    });
    t.equal(batch.statusCode, 200);
    t.equal(batch.json().failed, 0);
  });

  await t.test('WebSocket: live, replay, client acks, a group, a ticket on the other instance', async (t) => {
    const ws = await WsClient.connect(t, url, { key: KEYS.a });
    await ws.subscribe({ sub: 'live', types: ['*'] });
    await ws.subscribe({ sub: 'replay', types: ['*'], from: 'all' });
    await ws.subscribe({ sub: 'client', types: ['order.*'], from: 'all', ack: 'client' });
    await ws.subscribe({ sub: 'group', types: ['*'], group: 'perm_group', from: 'all' });
    t.ok((await ws.events('replay', 3)).length === 3, 'replayed');
    const [clientEvent] = await ws.events('client', 1);
    ws.send({ op: 'ack', sub: 'client', seq: clientEvent?.seq });
    await ws.events('group', 1);
    const stored = await publish(app, KEYS.a, { type: 'order.created' });
    const [live] = await ws.events('live', 1);
    t.equal((live?.event as { id: string } | undefined)?.id, stored.id, 'the live feed');
    const { ticket } = (await app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) })).json();
    const byTicket = await WsClient.connect(t, two.url, { ticket });
    await byTicket.subscribe({ sub: 'x', types: ['*'] });
    t.pass('a ticket redeemed on the other instance');
  });

  await t.test('durable consumers: create, fetch, ack; history and correlations', async (t) => {
    t.equal((await putConsumer(app, KEYS.a, 'perm_pull', { types: ['*'], from: 'all' })).status, 201);
    const got = await fetchEvents(two.app, KEYS.a, 'perm_pull', { max: 10, wait_ms: 1000 });
    t.ok(got.length > 0, 'fetched on the other instance');
    const acked = await ack(app, KEYS.a, 'perm_pull', { acks: got.map((e) => e.ack_token) });
    t.ok(
      acked.acks.every((a) => a.ok),
      'acked by token on the first',
    );
    const history = await call(app, KEYS.a, 'GET', '/v1/events?limit=10');
    t.equal(history.status, 200);
    t.ok((history.body.events as unknown[]).length > 0);
    const correlation = await call(app, KEYS.a, 'GET', '/v1/correlations/perm_corr');
    t.equal(correlation.status, 200);
    t.equal((correlation.body.events as unknown[]).length, 2);
  });

  await t.test('dead letters: exhausted, listed, redriven', async (t) => {
    await putConsumer(app, KEYS.a, 'perm_fragile', { types: ['invoice.*'], from: 'new', ack_wait: 1000, max_deliver: 1 });
    await publish(app, KEYS.a, { type: 'invoice.paid', data: BUILTIN_CATALOGUE['invoice.paid']?.example });
    const listed = await eventually(
      'the event to be dead-lettered',
      async () => {
        const batch = await fetchEvents(app, KEYS.a, 'perm_fragile', { max: 10, wait_ms: 300 });
        if (batch.length > 0) await ack(app, KEYS.a, 'perm_fragile', { naks: batch.map((e) => e.ack_token) });
        return (await call(app, KEYS.a, 'GET', '/v1/dead-letters?consumer=perm_fragile')).body.dead_letters as { seq: number }[];
      },
      (d) => d.length === 1,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const redriven = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { seqs: [listed[0]?.seq] });
    t.equal(redriven.status, 200, JSON.stringify(redriven.body));
    t.match(redriven.body, { redriven: 1 });
  });

  await t.test('the quota presence: each instance sees the other', async (t) => {
    await eventually(
      'both instances to count two',
      () => [one.app.quotas.instances, two.app.quotas.instances],
      (n) => n[0] === 2 && n[1] === 2,
    );
    t.pass();
  });

  await t.test('the deny list: the event stream cannot be deleted or purged with these credentials', async (t) => {
    const nc = await connect({ servers: nats.url, user: USER, pass: PASSWORD });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc, { timeout: 3000 });
    await t.rejects(jsm.streams.delete('EVENTS'), 'delete refused');
    await t.rejects(jsm.streams.purge('EVENTS'), 'purge refused');
    t.ok((await jsm.streams.info('EVENTS')).state.messages > 0, 'the events are still there');
    await eventually(
      'the server to log both refusals',
      () => serverLog.filter((l) => /Violation.*STREAM\.(DELETE|PURGE)\.EVENTS/.test(l)).length,
      (n) => n >= 2,
    );
  });

  // The deny list's refusals above are the only violations: the gateway asked for nothing else.
  const violations = serverLog.filter((l) => /Violation/i.test(l) && !/STREAM\.(DELETE|PURGE)\.EVENTS\b/.test(l));
  t.same(violations, [], 'no permission violation in the server log');
});
