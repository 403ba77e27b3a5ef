// `node bench/profile-publish.ts DIR [single|batch|bare] [seconds]`: only the gateway side of
// scenario 1 or 2 (or scenario 1 against bench/bare-bridge.ts), with the process under
// `node --cpu-prof` (profile written to DIR when it stops; `-` for no profile). Prints events/s
// and CPU µs per event of the gateway, nats-server and the load generator. For finding hot paths
// and comparing versions of the code with each other; the comparison with direct JetStream is
// bench/run.ts.
import { httpLoad } from './http-load.ts';
import { batchBody, singleBody } from './payload.ts';
import { sampleProcess, startBenchNats, startGatewayProcess } from './processes.ts';

const [dir, kind = 'single', seconds = '8'] = process.argv.slice(2);
if (!dir || !['single', 'batch', 'bare'].includes(kind))
  throw new Error('usage: node bench/profile-publish.ts DIR [single|batch|bare] [seconds]');
const nats = await startBenchNats();
const script = kind === 'bare' ? 'bench/bare-bridge.ts' : 'src/main.ts';
const gateway = await startGatewayProcess(nats.server.url, {}, dir === '-' ? undefined : dir, script).catch(async (err: unknown) => {
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
  const natsBefore = sampleProcess(nats.server.process.pid ?? 0);
  const selfBefore = process.cpuUsage();
  const r = await load(Number(seconds) * 1000);
  const after = sampleProcess(gateway.pid);
  const natsAfter = sampleProcess(nats.server.process.pid ?? 0);
  const self = process.cpuUsage(selfBefore);
  const events = r.ok * (batch ? 100 : 1);
  const cpu = (after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0);
  const natsCpu = (natsAfter?.cpuSeconds ?? 0) - (natsBefore?.cpuSeconds ?? 0);
  const loadCpu = (self.user + self.system) / 1e6;
  console.log(
    `${kind}: ${Math.round(events / r.seconds)} events/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
      `gateway CPU ${Math.round((cpu / r.seconds) * 100)} %, ${Math.round((cpu * 1e6) / events)} µs/event; ` +
      `nats-server ${Math.round((natsCpu * 1e6) / events)} µs/event; load generator ${Math.round((loadCpu * 1e6) / events)} µs/event, ${Math.round((loadCpu / r.seconds) * 100)} %; errors ${r.errors}`,
  );
} finally {
  await gateway.stop();
  await nats.stop();
}
