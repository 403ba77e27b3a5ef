// Acks and naks through Bus.acknowledge (src/bus/settle-batch.ts): sent at the end of the event
// loop's turn, together; they take effect on the JetStream consumer like direct ones, and those
// still queued when the bus closes are sent before the connection drains.
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import t, { type Test } from 'tap';
import { busInternals } from '../src/bus/testing.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const COUNT = 40;

async function setUp(t: Test) {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url);
  for (let i = 0; i < COUNT; i++) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent({ id: `evt_settle_${i}` }) });
    t.equal(res.statusCode, 202);
  }
  const { nc, config } = busInternals(gw.app.bus);
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(config.STREAM_NAME, { durable_name: 'settle_probe', ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
  const consumer = await jetstream(nc).consumers.get(config.STREAM_NAME, 'settle_probe');
  const msgs = [];
  for await (const m of await consumer.fetch({ max_messages: COUNT, expires: 5000 })) {
    msgs.push(m);
    if (msgs.length === COUNT) break;
  }
  t.equal(msgs.length, COUNT, 'every event pulled, none acknowledged yet');
  // Inspected on a connection of the test's own, which outlives the gateway's.
  const probe = await connect({ servers: nats.url });
  t.teardown(() => probe.close());
  const info = async () => (await jetstreamManager(probe)).consumers.info(config.STREAM_NAME, 'settle_probe');
  return { ...gw, msgs, info, consumer };
}

t.test('acks of one turn take effect on the consumer', async (t) => {
  const { app, msgs, info, consumer } = await setUp(t);
  t.equal((await info()).num_ack_pending, COUNT);
  for (const m of msgs.slice(0, 30)) app.bus.acknowledge(m, 'ack');
  for (const m of msgs.slice(30)) app.bus.acknowledge(m, 'nak');
  const after = await eventually('the acks reach the consumer', info, (i) => i.ack_floor.stream_seq === 30);
  t.equal(after.ack_floor.stream_seq, 30, 'the 30 acked are done');
  // The nakked ones come again at once, not after the 30 s ack wait.
  const again = [];
  for await (const m of await consumer.fetch({ max_messages: 10, expires: 5000 })) {
    again.push([m.seq, m.info.deliveryCount]);
    if (again.length === 10) break;
  }
  t.same(
    again,
    Array.from({ length: 10 }, (_, i) => [31 + i, 2]),
    'the 10 nakked are delivered again',
  );
});

t.test('acks queued in the turn the bus closes in still reach the consumer', async (t) => {
  const { app, msgs, info } = await setUp(t);
  for (const m of msgs) app.bus.acknowledge(m, 'ack');
  await app.bus.close(); // in the same turn as the acks
  const after = await info();
  t.equal(after.num_ack_pending, 0, 'nothing left unacknowledged');
  t.equal(after.ack_floor.stream_seq, COUNT, 'every one acknowledged');
});
