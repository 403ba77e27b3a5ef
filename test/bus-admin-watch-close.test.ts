// Closing the bus while its admin-bucket watch is being opened. nats.js starts a KV watch's
// heartbeat timer before it subscribes, so a watch whose opening meets a closing connection used to
// fail with that timer running: nothing could stop it, and it kept the process alive (an
// intermittent hang of test/nats-outage.test.ts, whose watch restarts after NATS comes back). The
// bus now waits for a watch being opened before it closes the connection. Closed at each of a
// range of moments after the watch starts, no referenced timer may outlive the bus.
import { pino } from 'pino';
import t from 'tap';
import { Bus } from '../src/bus/index.ts';
import { loadConfig } from '../src/config.ts';
import { eventually } from './helpers/eventually.ts';
import { startNats } from './helpers/nats.ts';

/** Timers that keep the process alive (unreferenced ones are not listed). */
const liveTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
// How late, in event-loop turns after the watch starts, the bus is closed: the watch opens in four
// JetStream round trips (the bucket, its status, the consumer, its info). Before the fix, closes
// 30 turns in and later left the watch's heartbeat timer running on the machine this was written
// on; the range covers machines a few times slower or faster.
const TURNS = 100;

t.test('a bus closed while its admin watch is being opened leaves no timer running', async (t) => {
  const nats = await startNats(t);
  const config = loadConfig({ NATS_URL: nats.url, HOST: '127.0.0.1', PORT: '0' });
  const log = pino({ level: 'silent' });
  // The bucket exists from here on, so each watch below opens in a few round trips.
  const first = await Bus.connect(config, log);
  await first.watchAdmin(() => undefined).loaded;
  await first.close();
  const baseline = await eventually('the first bus to leave no timer', liveTimers, (n) => n >= 0);
  for (let offset = 0; offset < TURNS; offset++) {
    const bus = await Bus.connect(config, log);
    await bus.ready;
    bus.watchAdmin(() => undefined);
    for (let i = 0; i < offset; i++) await turn();
    await bus.close();
    const left = await eventually(`no timer left by a bus closed ${offset} turns after its watch began`, liveTimers, (n) => n <= baseline, {
      timeoutMs: 3000,
    }).catch(() => liveTimers());
    t.ok(left <= baseline, `closed ${offset} turns after the watch began: ${left} live timers, ${baseline} before`);
  }
});
