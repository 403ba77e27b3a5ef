// POST /v1/events at a fixed rate (not as fast as possible): the end-to-end and slow-consumer
// scenarios need a steady, known load. Keep-alive connections, a bounded number of requests in
// flight, bounded in count and time; the time each request started is reported per event id.
import { Agent, request } from 'node:http';
import { envelopeJson } from './payload.ts';

export interface RateOptions {
  url: string;
  key: string;
  perSecond: number;
  durationMs: number;
  /** Requests in flight at most; past it the sender falls behind rather than piling up. */
  maxInFlight?: number;
  /** Called as each request starts. */
  onSend?: (id: string, sentAt: number) => void;
  idPrefix: string;
}

export interface RateResult {
  sent: number;
  accepted: number;
  failed: number;
  /** Milliseconds from the request to the 202, per accepted event. */
  postLatencies: number[];
  seconds: number;
}

export async function publishAtRate(opts: RateOptions): Promise<RateResult> {
  const { hostname, port } = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxInFlight ?? 64 });
  const total = Math.round((opts.perSecond * opts.durationMs) / 1000);
  const maxInFlight = opts.maxInFlight ?? 64;
  const result: RateResult = { sent: 0, accepted: 0, failed: 0, postLatencies: [], seconds: 0 };
  let inFlight = 0;
  const start = performance.now();
  const hardStop = start + opts.durationMs + 15_000;

  const post = (id: string) => {
    const body = envelopeJson(id);
    const t0 = performance.now();
    opts.onSend?.(id, t0);
    inFlight++;
    const req = request(
      {
        agent,
        hostname,
        port,
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${opts.key}` },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          inFlight--;
          if (res.statusCode === 202) {
            result.accepted++;
            result.postLatencies.push(performance.now() - t0);
          } else {
            result.failed++;
          }
        });
      },
    );
    req.on('error', () => {
      inFlight--;
      result.failed++;
    });
    req.on('timeout', () => req.destroy());
    req.end(body);
  };

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.perSecond));
      while (result.sent < due && inFlight < maxInFlight) post(`${opts.idPrefix}_${result.sent++}`);
      if ((result.sent >= total && inFlight === 0) || now > hardStop) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  result.seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return result;
}
