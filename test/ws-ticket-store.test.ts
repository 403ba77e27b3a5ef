// Single use of WebSocket tickets (src/bus/ticket-store.ts) rests on a ticket stream that is made
// at start and after a reconnect (issue #12 item 14), is file-stored with the event stream's
// replicas, and so keeps working while a quorum is up and keeps a used ticket used across a
// nats-server restart (item 13).
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import t from 'tap';
import { busInternals } from '../src/bus/testing.ts';
import { startCluster } from './helpers/cluster.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway, type TestGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const TICKETS = 'EVENTS_WS_TICKETS';

async function issue(gw: TestGateway): Promise<string> {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) });
  if (res.statusCode !== 201) throw new Error(`ticket not issued: ${res.statusCode} ${res.body}`);
  return res.json().ticket as string;
}

/** 101 when the ticket opened a WebSocket, else the refusal's status and code. */
async function redeem(url: string, ticket: string): Promise<{ status: number; code?: unknown }> {
  try {
    const r = await WsClient.refusal(url, { ticket });
    return { status: r.status, code: r.body.code };
  } catch (err) {
    if ((err as Error).message === 'the upgrade was accepted') return { status: 101 };
    throw err;
  }
}

t.test('the ticket stream exists once the gateway started, file-stored, and comes back after a reconnect', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { WS_TICKET_TTL: 20_000 });
  const { jsm } = busInternals(gw.app.bus);
  const info = await jsm.streams.info(TICKETS);
  t.equal(info.config.storage, StorageType.File, 'file storage: used nonces survive a restart');
  t.equal(info.config.num_replicas, 1, 'the event stream replicas (STREAM_REPLICAS)');
  t.equal(info.config.duplicate_window, 40_000 * 1e6, 'a nonce is remembered for twice the ticket lifetime');

  // The stream is gone (an operator, a server that lost its storage): the reconnect brings it back.
  await jsm.streams.delete(TICKETS);
  await nats.restart();
  await eventually('the ticket stream to be made again after the reconnect', () =>
    jsm.streams.info(TICKETS).then(
      () => true,
      () => false,
    ),
  );
});

t.test("an earlier gateway's memory-stored ticket stream is replaced by a file-stored one", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: TICKETS, subjects: ['events_ws_tickets.>'], storage: StorageType.Memory, num_replicas: 1 });
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  t.equal((await jsm.streams.info(TICKETS)).config.storage, StorageType.File);
  t.equal((await redeem(gw.url, await issue(gw))).status, 101, 'tickets redeem');
});

t.test('a used ticket stays used across a nats-server restart', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ticket = await issue(gw);
  t.equal((await redeem(gw.url, ticket)).status, 101, 'the first redemption opens the WebSocket');
  await nats.restart(); // SIGKILL, then the same port and storage
  const again = await eventually(
    'the gateway to answer the redemption after the restart',
    () => redeem(gw.url, ticket),
    (r) => r.status !== 503,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  t.same(again, { status: 401, code: 'GW_INVALID_TICKET' }, 'the used ticket is refused after the restart');
  t.equal((await redeem(gw.url, await issue(gw))).status, 101, 'a new ticket still works');
});

t.test('tickets work while a quorum is up: the leader of the ticket stream is killed', async (t) => {
  const cluster = await startCluster(t);
  const gw = await startGateway(t, cluster.urls.join(','), { NATS_URL: cluster.urls, STREAM_REPLICAS: 3 }, { listen: true });
  const used = await issue(gw);
  t.equal((await redeem(gw.url, used)).status, 101, 'redeemed before the node loss');

  const nc = await connect({ servers: cluster.urls });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  t.equal((await jsm.streams.info(TICKETS)).config.num_replicas, 3, 'the ticket stream has the replicas of the event stream');

  const leader = await cluster.leaderOf(TICKETS);
  await cluster.kill(leader);
  const fresh = await issue(gw);
  const started = Date.now();
  const first = await eventually(
    'a new ticket to redeem with the ticket leader down',
    () => redeem(gw.url, fresh),
    (r) => r.status !== 503,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  t.equal(first.status, 101, `a new ticket redeems (after ${Date.now() - started} ms)`);
  t.same(await redeem(gw.url, used), { status: 401, code: 'GW_INVALID_TICKET' }, 'the ticket used before the loss is still refused');
  t.same(await redeem(gw.url, fresh), { status: 401, code: 'GW_INVALID_TICKET' }, 'and so is the one just used');
});
