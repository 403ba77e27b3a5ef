// Reference for scenario 1: the thinnest HTTP → JetStream bridge Node can run, to show what the
// HTTP side costs before the gateway adds anything. `node:http` (no framework), the body
// JSON.parsed, published with the gateway's own Bus (pipelined acknowledgements, one socket
// write per loop turn, message id `<tenant>:<id>`), and a 202 with the acknowledgement once
// JetStream stored it. No authentication, no validation, no normalisation, no logging: not a
// gateway, only a bound on what one can reach here. Started by bench/run.ts like the gateway
// (`NATS_URL`, `HOST`, `PORT`); `GET` answers 200 so the readiness probe passes.
//
// `BRIDGE_MODE=null`: read and parse the body, answer 202 at once, publish nothing. What the load
// generator alone can drive on this machine, whatever the server does.
import { createServer, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { EventEnvelope } from '../schemas/envelope.ts';
import { Bus } from '../src/bus/index.ts';
import { loadConfig } from '../src/config.ts';
import { BENCH_TENANT } from './payload.ts';

const config = loadConfig();
const nullMode = process.env.BRIDGE_MODE === 'null';
const bus = nullMode ? undefined : await Bus.connect(config, pino({ level: 'warn' }));
let seq = 0;

/** Answers with a Content-Length, as the gateway does (writeHead before end would send it chunked). */
function answer(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    answer(res, 200, '{"status":"ok"}');
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
  });
  req.on('end', () => {
    let event: EventEnvelope;
    try {
      event = { ...(JSON.parse(body) as EventEnvelope), tenant_id: BENCH_TENANT };
    } catch {
      answer(res, 400, '');
      return;
    }
    if (!bus) {
      const ack = { id: event.id, stream: config.STREAM_NAME, seq: ++seq, duplicate: false };
      answer(res, 202, JSON.stringify(ack));
      return;
    }
    bus.publish(event).then(
      (stored) => answer(res, 202, JSON.stringify({ id: event.id, ...stored })),
      (err: unknown) => answer(res, 503, String(err), 'text/plain'),
    );
  });
});
server.listen(config.PORT, config.HOST);

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.resolve(bus?.close()).then(() => process.exit(0));
});
