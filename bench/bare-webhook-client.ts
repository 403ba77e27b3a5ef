// Reference for scenario 6: the same POSTs a webhook makes, from the barest client Node has, in a
// process of its own as the gateway is: `node bench/bare-webhook-client.ts <url> <count> <in flight> <run>`
// POSTs `count` copies of the bench envelope (each with its own id in `x-id`) over keep-alive
// connections, `in flight` at a time, and prints `{"seconds": …, "cpu_seconds": …}`. No consumer, no signing, no acks.
import { Agent, request } from 'node:http';
import { envelopeJson } from './payload.ts';

const [url = '', countArg = '0', inFlightArg = '1', run = '0'] = process.argv.slice(2);
const count = Number(countArg);
const inFlight = Number(inFlightArg);
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
let next = 0;

function one(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = envelopeJson(`evt_bare${run}_${i}`);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-id': `bare${run}_${i}` },
      },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function worker(): Promise<void> {
  while (next < count) await one(next++);
}

const started = performance.now();
const cpuBefore = process.cpuUsage();
await Promise.all(Array.from({ length: inFlight }, worker));
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, cpu_seconds: (cpu.user + cpu.system) / 1e6 })}\n`);
agent.destroy();
