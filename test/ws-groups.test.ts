// Consumer groups over WebSocket: members on several gateway instances share one durable position,
// each event goes to one member, a leaving (or killed) member's unacknowledged events go to another.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { busInternals } from '../src/bus/testing.ts';
import { KEY_FILE, KEYS, startGateway } from './helpers/gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';
import { type Frame, publish, WsClient } from './helpers/ws-client.ts';

const seqs = (frames: Frame[]) => frames.map((f) => f.seq as number).sort((a, b) => a - b);

t.test('two instances share a group: each event to one member, all events to the group', async (t) => {
  const nats = await startNats(t);
  const settings = { WS_MAX_IN_FLIGHT: 5, CONSUMER_ACK_WAIT: 30_000 };
  const one = await startGateway(t, nats.url, settings, { listen: true });
  const two = await startGateway(t, nats.url, settings, { listen: true });
  const a = await WsClient.connect(t, one.url, { key: KEYS.a });
  const b = await WsClient.connect(t, two.url, { key: KEYS.a });
  const first = await a.subscribe({ sub: 'g', types: ['order.*'], group: 'billing', ack: 'client' });
  t.notOk(first.resumed_group, 'the first member creates the group');
  const second = await b.subscribe({ sub: 'g', types: ['order.*'], group: 'billing', ack: 'client' });
  t.equal(second.resumed_group, true, 'the second joins it');

  const stored: number[] = [];
  for (let i = 0; i < 10; i++) stored.push((await publish(one.app, KEYS.a)).seq);
  // Nobody acks: each member holds at most 5, so each holds exactly 5 and together all 10.
  const gotA = await a.events('g', 5);
  const gotB = await b.events('g', 5);
  t.same(seqs([...gotA, ...gotB]), stored, 'every event once across the group');
  t.ok(await a.quiet((f) => f.op === 'event', 300));

  // A member leaves holding unacknowledged events: they go to the other member at once (not after the 30 s ack wait).
  const left = seqs(gotA);
  await a.close();
  for (const f of gotB) b.send({ op: 'ack', sub: 'g', seq: f.seq as number });
  const handedOver = await b.events('g', 5, 5000);
  t.same(seqs(handedOver), left, "the leaver's events reach the remaining member");
  t.ok(
    handedOver.every((f) => (f.delivery as number) === 2),
    'as second deliveries',
  );
  for (const f of handedOver) b.send({ op: 'ack', sub: 'g', seq: f.seq as number });

  // A group without members keeps its position.
  await b.close();
  // The client sees the close before gateway two has stopped b's pull: until nats-server drops that
  // pull request (no interest left on its inbox), an event published now is handed to b's stopped
  // pull and comes back only after the 30 s ack wait. Publish once nobody is left in the group.
  await eventually(
    'the departed member to hold no pull request on the group',
    async () => ({
      connections: two.app.wsSubscriptions.connectionCount,
      waiting: (await busInternals(two.app.bus).jsm.consumers.info(two.config.STREAM_NAME, 'gwt5_ten_a_billing')).num_waiting,
    }),
    (s) => s.connections === 0 && s.waiting === 0,
  );
  const whileAway: number[] = [];
  for (let i = 0; i < 3; i++) whileAway.push((await publish(one.app, KEYS.a)).seq);
  const c = await WsClient.connect(t, two.url, { key: KEYS.a });
  const back = await c.subscribe({ sub: 'again', types: ['order.*'], group: 'billing', ack: 'client', from: 'new' });
  t.equal(back.resumed_group, true);
  t.same(seqs(await c.events('again', 3)), whileAway, 'events published while nobody was connected are delivered, and only those');

  // Another tenant's group of the same name is another group, and sees none of this tenant's events.
  const other = await WsClient.connect(t, one.url, { key: KEYS.b });
  const theirs = await other.subscribe({ sub: 'g', types: ['*'], group: 'billing', from: 'all' });
  t.notOk(theirs.resumed_group, "tenant b's billing group is its own");
  t.ok(await other.quiet((f) => f.op === 'event', 500), "nothing of tenant a's");
});

t.test('an auto-ack group member gets each event once and acks it itself', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const a = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await a.subscribe({ sub: 'g', types: ['*'], group: 'auto' });
  const stored = [(await publish(gw.app, KEYS.a)).seq, (await publish(gw.app, KEYS.a)).seq];
  t.same(seqs(await a.events('g', 2)), stored);
  // The gateway acks in the write callback of each frame, which can run after this client already
  // read the frame: wait for the acks to land before leaving (a leaving member's unacked events are nak'ed).
  const groupInfo = () => busInternals(gw.app.bus).jsm.consumers.info(gw.config.STREAM_NAME, 'gwt5_ten_a_auto');
  await eventually('both events acked by the gateway', groupInfo, (i) => i.num_ack_pending === 0 && i.ack_floor.stream_seq === stored[1]);
  await a.close();
  const info = await groupInfo();
  t.equal(info.num_ack_pending, 0, 'acknowledged once written');
  t.equal(info.ack_floor.stream_seq, stored[1]);
});

interface ChildGateway {
  child: ChildProcess;
  url: string;
}

/** `node src/main.ts` against the test nats-server, with the test keys, on a free port. */
async function startChildGateway(t: Test, natsUrl: string, env: Record<string, string>): Promise<ChildGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-ws-child-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'keys.json');
  writeFileSync(keyFile, JSON.stringify(KEY_FILE));
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NATS_URL: natsUrl, PORT: '0', HOST: '127.0.0.1', API_KEYS_FILE: keyFile, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${lines.join('\n')}`)), 30_000);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (listening?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: listening[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${lines.join('\n')}`));
    });
  });
}

t.test('kill -9 of an instance holding unacked events: the member on the other instance gets them', async (t) => {
  const nats = await startNats(t);
  const ackWait = 2000;
  const child = await startChildGateway(t, nats.url, { CONSUMER_ACK_WAIT: String(ackWait), WS_MAX_IN_FLIGHT: '3' });
  const survivor = await startGateway(t, nats.url, { CONSUMER_ACK_WAIT: ackWait, WS_MAX_IN_FLIGHT: 3 }, { listen: true });

  const doomed = await WsClient.connect(t, child.url, { key: KEYS.a });
  await doomed.subscribe({ sub: 'g', types: ['order.*'], group: 'workers', ack: 'client' });
  const stored: number[] = [];
  for (let i = 0; i < 3; i++) stored.push((await publish(survivor.app, KEYS.a)).seq);
  t.same(seqs(await doomed.events('g', 3)), stored, 'the doomed member holds all three, unacknowledged');

  const member = await WsClient.connect(t, survivor.url, { key: KEYS.a });
  await member.subscribe({ sub: 'g', types: ['order.*'], group: 'workers', ack: 'client' });
  t.ok(await member.quiet((f) => f.op === 'event', 300), 'nothing for the survivor while they are held');

  const killedAt = Date.now();
  child.child.kill('SIGKILL');
  const redelivered = await member.events('g', 3, ackWait + 5000);
  t.same(seqs(redelivered), stored, 'every held event reaches the surviving member');
  t.ok(
    redelivered.every((f) => (f.delivery as number) >= 2),
    'as redeliveries',
  );
  t.ok(Date.now() - killedAt < ackWait + 4000, 'within about one ack wait');
  for (const f of redelivered) member.send({ op: 'ack', sub: 'g', seq: f.seq as number });
});
