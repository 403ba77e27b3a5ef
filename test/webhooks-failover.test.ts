// Webhooks across gateway processes: every instance delivers a webhook (each runs a pull loop on
// its durable consumer, JetStream shares the events), and killing one while its requests are in
// flight loses nothing: JetStream redelivers what it never settled to the other instance after the
// ack wait (WEBHOOK_TIMEOUT + 5 s), and delivery goes on.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import t from 'tap';
import { type ChildGateway, spawnGateway } from './helpers/child-gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { startReceiver } from './helpers/webhook-receiver.ts';

const KEY = 'webhook-failover-key';

async function api(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function publish(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await api(url, 'POST', '/v1/events', { type: 'order.created', source: 'failover-test', data: { order_id: `o${i}` } });
    if (res.status !== 202) throw new Error(`publish: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(res.body.id as string);
  }
  return ids;
}

/** The local TCP ports of a process's sockets (Linux /proc): which gateway a request came from. */
function localPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9] as string)) ports.add(Number.parseInt((cols[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports;
}

t.test('a gateway killed with deliveries in flight loses none: the other instance delivers them and goes on', async (t) => {
  const nats = await startNats(t);
  const env = {
    NATS_URL: nats.url,
    DEV_API_KEY: KEY,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_TIMEOUT: '8s', // ack wait 13 s
    SHUTDOWN_DRAIN_MS: '0',
  };
  let holding = true;
  const receiver = await startReceiver(t, () => (holding ? { status: 200, hold: true } : { status: 200 }));

  const gateways = [spawnGateway(t, env), spawnGateway(t, env)] as [ChildGateway, ChildGateway];
  const [urlA, urlB] = await Promise.all(gateways.map((g) => g.listening(30_000)));
  const put = await api(urlA as string, 'PUT', '/v1/webhooks/failover', { url: receiver.url, types: ['order.*'], max_in_flight: 10 });
  t.equal(put.status, 201, JSON.stringify(put.body));
  for (const g of gateways) {
    await eventually('each gateway to deliver the webhook', () => g.lines.some((l) => l.includes('webhook delivery started')), Boolean, {
      timeoutMs: 20_000,
    });
  }
  const before = await publish(urlB as string, 30);
  // The 10 requests the webhook allows in flight, none answered: kill the gateway holding most of them.
  await eventually(
    '10 requests in flight',
    () => receiver.inFlight,
    (n) => n === 10,
    { timeoutMs: 20_000 },
  );
  const held = receiver.received.filter((r) => r.answeredAt === undefined);
  const byGateway = gateways.map((g) => {
    const ports = localPorts(g.child.pid as number);
    return held.filter((r) => ports.has(r.remotePort));
  });
  const [fromA, fromB] = byGateway as [typeof held, typeof held];
  t.equal(fromA.length + fromB.length, 10, 'every request in flight came from one of the two gateways');
  const victim = fromA.length >= fromB.length ? 0 : 1;
  const survivor = gateways[1 - victim] as ChildGateway;
  const cut = byGateway[victim] as typeof held;
  t.ok(cut.length > 0, `the killed gateway has ${cut.length} requests in flight (the other ${10 - cut.length})`);

  gateways[victim]?.child.kill('SIGKILL');
  await gateways[victim]?.exited;
  await eventually('the killed gateway’s requests to be cut', () => cut.every((r) => r.abandoned));
  holding = false;
  receiver.release();
  const after = await publish(survivor.url, 10);

  const all = [...before, ...after];
  await eventually(
    'every event delivered',
    () => all.filter((id) => !receiver.deliveredIds().has(id)),
    (missing) => missing.length === 0,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  t.ok(
    cut.every((r) => receiver.deliveredIds().has(r.id)),
    'the events in flight at the killed gateway were delivered again, by the other one',
  );
  t.equal(receiver.deliveredIds().size, 40, 'every event, nothing lost');
  const webhook = await eventually(
    'the lag to drain',
    async () => (await api(survivor.url, 'GET', '/v1/webhooks/failover')).body,
    (w) => w.lag === 0,
  );
  t.match(webhook, { state: 'active', lag: 0 });
});
