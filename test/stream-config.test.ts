// The streams are created at start with the instance's settings. A running stream is the truth
// (issue #12 item 11): an instance with other retention or placement settings warns, naming each
// difference, and leaves the stream alone unless STREAM_UPDATE=true; what the gateway needs to work
// (subjects, republish, direct gets) is always put back.
import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { type Logger, pino } from 'pino';
import t from 'tap';
import { startCluster } from './helpers/cluster.ts';
import { startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const warnings = (lines: Record<string, unknown>[]) => lines.filter((l) => l.level === 40);

t.test('stream settings come from configuration at creation; STREAM_UPDATE=true applies them to a running stream', async (t) => {
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
    STREAM_UPDATE: true,
  });
  info = await jsm.streams.info('ORDERS_TEST');
  t.equal(info.config.max_age, nanos(7_200_000), 'max age updated');
  t.equal(info.config.max_bytes, 50_000_000, 'max bytes updated');
  t.equal(info.config.description, 'set by an operator');
});

t.test('an instance with other settings leaves the running streams alone and warns once, naming each difference', async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await startGateway(t, nats.url, { STREAM_MAX_AGE: 3_600_000, DEAD_LETTER_MAX_AGE: 86_400_000 });

  const log = capture();
  await startGateway(
    t,
    nats.url,
    { STREAM_MAX_AGE: 7_200_000, STREAM_MAX_BYTES: 50_000_000, DEAD_LETTER_MAX_AGE: 2 * 86_400_000 },
    { logger: log.logger },
  );
  const events = await jsm.streams.info('EVENTS');
  t.equal(events.config.max_age, nanos(3_600_000), 'max age kept');
  t.equal(events.config.max_bytes, -1, 'max bytes kept');
  t.equal((await jsm.streams.info('EVENTS_DLQ')).config.max_age, nanos(86_400_000), 'dead-letter max age kept');

  const drift = warnings(log.lines).filter((l) => l.stream === 'EVENTS');
  t.equal(drift.length, 1, 'one warning for the event stream');
  t.match(drift[0], {
    differing: {
      STREAM_MAX_AGE: { wanted: '2h', running: '1h' },
      STREAM_MAX_BYTES: { wanted: 50_000_000, running: -1 },
    },
    msg: /STREAM_UPDATE=true/,
  });
  t.notOk((drift[0]?.differing as Record<string, unknown> | undefined)?.STREAM_DUPLICATE_WINDOW, 'only what differs is named');
  t.match(
    warnings(log.lines).find((l) => l.stream === 'EVENTS_DLQ'),
    { differing: { DEAD_LETTER_MAX_AGE: { wanted: '2d', running: '1d' } } },
    'and one for the dead-letter stream',
  );

  // What the gateway cannot work without is put back whatever STREAM_UPDATE says.
  await jsm.streams.update('EVENTS', { ...events.config, allow_direct: false, republish: undefined });
  await startGateway(t, nats.url, { STREAM_MAX_AGE: 7_200_000 });
  const repaired = await jsm.streams.info('EVENTS');
  t.equal(repaired.config.allow_direct, true, 'direct gets restored');
  t.same(repaired.config.republish, { src: 'events.>', dest: 'events_live.>' }, 'the republish restored');
  t.equal(repaired.config.max_age, nanos(3_600_000), 'the retention still kept');

  await startGateway(t, nats.url, { STREAM_MAX_AGE: 7_200_000, STREAM_UPDATE: true });
  t.equal((await jsm.streams.info('EVENTS')).config.max_age, nanos(7_200_000), 'STREAM_UPDATE=true applies the change');
});

t.test('replicas: a second instance with fewer does not lower them; STREAM_UPDATE=true does, at warn', async (t) => {
  const cluster = await startCluster(t);
  const nc = await connect({ servers: cluster.urls });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await startGateway(t, cluster.urls[0] as string, { NATS_URL: cluster.urls, STREAM_REPLICAS: 3 });
  t.equal((await jsm.streams.info('EVENTS')).config.num_replicas, 3);

  const log = capture();
  await startGateway(t, cluster.urls[1] as string, { NATS_URL: cluster.urls, STREAM_REPLICAS: 1 }, { logger: log.logger });
  t.equal((await jsm.streams.info('EVENTS')).config.num_replicas, 3, 'replicas kept');
  t.equal((await jsm.streams.info('EVENTS_DLQ')).config.num_replicas, 3, 'dead-letter replicas kept');
  t.match(
    warnings(log.lines).find((l) => l.stream === 'EVENTS'),
    { differing: { STREAM_REPLICAS: { wanted: 1, running: 3 } } },
  );

  const lowering = capture();
  await startGateway(
    t,
    cluster.urls[2] as string,
    { NATS_URL: cluster.urls, STREAM_REPLICAS: 1, STREAM_UPDATE: true },
    { logger: lowering.logger },
  );
  t.equal((await jsm.streams.info('EVENTS')).config.num_replicas, 1, 'lowered on request');
  t.ok(
    warnings(lowering.lines).some((l) => l.stream === 'EVENTS' && /lowering its replicas from 3 to 1/.test(String(l.msg))),
    'lowering replicas is logged at warn',
  );
});

t.test('two instances starting together agree on one stream', async (t) => {
  const nats = await startNats(t);
  const [a, b] = await Promise.all([startGateway(t, nats.url), startGateway(t, nats.url)]);
  t.equal((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  t.equal((await b.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});
