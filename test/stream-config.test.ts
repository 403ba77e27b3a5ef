// The stream is created at start, and its gateway-owned settings are updated at the next start.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import t from 'tap';
import { startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

t.test('stream settings come from configuration, created then updated', async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);

  const first = await startGateway(t, nats.url, { STREAM_NAME: 'ORDERS_TEST', STREAM_MAX_AGE: 3_600_000, STREAM_DUPLICATE_WINDOW: 30_000 });
  let info = await jsm.streams.info('ORDERS_TEST');
  t.same(info.config.subjects, ['events.>', 'events_redrive.>']);
  t.equal(info.config.max_age, nanos(3_600_000));
  t.equal(info.config.duplicate_window, nanos(30_000));
  t.equal(info.config.num_replicas, 1);
  await first.app.close();

  // An operator's own setting (a description) survives the gateway's update.
  await jsm.streams.update('ORDERS_TEST', { ...info.config, description: 'set by an operator' });
  await startGateway(t, nats.url, {
    STREAM_NAME: 'ORDERS_TEST',
    STREAM_MAX_AGE: 7_200_000,
    STREAM_MAX_BYTES: 50_000_000,
    STREAM_DUPLICATE_WINDOW: 30_000,
  });
  info = await jsm.streams.info('ORDERS_TEST');
  t.equal(info.config.max_age, nanos(7_200_000), 'max age updated');
  t.equal(info.config.max_bytes, 50_000_000, 'max bytes updated');
  t.equal(info.config.description, 'set by an operator');
});

t.test('two instances starting together agree on one stream', async (t) => {
  const nats = await startNats(t);
  const [a, b] = await Promise.all([startGateway(t, nats.url), startGateway(t, nats.url)]);
  t.equal((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  t.equal((await b.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});
