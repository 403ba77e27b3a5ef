// `node bench/profile-publish.ts DIR [single|batch] [seconds]`: only the gateway side of scenario 1
// or 2, with the gateway under `node --cpu-prof` (profile written to DIR when it stops; `-` for no
// profile). For finding hot paths and comparing versions of the code with each other; the
// comparison with direct JetStream is bench/run.ts.
import { httpLoad } from './http-load.ts';
import { batchBody, singleBody } from './payload.ts';
import { sampleProcess, startBenchNats, startGatewayProcess } from './processes.ts';

const [dir, kind = 'single', seconds = '8'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node bench/profile-publish.ts DIR [single|batch] [seconds]');
const nats = await startBenchNats();
const gateway = await startGatewayProcess(nats.server.url, {}, dir === '-' ? undefined : dir).catch(async (err: unknown) => {
  await nats.stop();
  throw err;
});
try {
  const batch = kind === 'batch';
  const load = (ms: number) =>
    httpLoad({
      url: gateway.url,
      path: batch ? '/v1/events/batch' : '/v1/events',
      key: gateway.key,
      body: batch ? batchBody(100) : singleBody(),
      connections: batch ? 4 : 32,
      durationMs: ms,
      maxRequests: 1_000_000,
    });
  await load(2000);
  const before = sampleProcess(gateway.pid);
  const r = await load(Number(seconds) * 1000);
  const after = sampleProcess(gateway.pid);
  const events = r.ok * (batch ? 100 : 1);
  const cpu = (after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0);
  console.log(
    `${kind}: ${Math.round(events / r.seconds)} events/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
      `gateway CPU ${Math.round((cpu / r.seconds) * 100)} %, ${Math.round((cpu * 1e6) / events)} µs/event, errors ${r.errors}`,
  );
} finally {
  await gateway.stop();
  await nats.stop();
}
