// POST /v1/events at a fixed rate (not as fast as possible): the end-to-end and slow-consumer
// scenarios need a steady, known load. Keep-alive connections, a bounded number of requests in
// flight, bounded in count and time; the time each request started is reported per event id.
import { Agent, request } from 'node:http';
import { envelopeJson } from './payload.ts';

/** How a fixed-rate flow is paced: the same for POSTs and for direct publishes. */
export interface PaceOptions {
  perSecond: number;
  durationMs: number;
  /** Operations in flight at most; past it the sender falls behind rather than piling up. */
  maxInFlight?: number;
  /** Called as each operation starts. */
  onSend?: (id: string, sentAt: number) => void;
  /** Ids are `<idPrefix>_<n>`. */
  idPrefix: string;
}

export interface PaceResult {
  sent: number;
  accepted: number;
  failed: number;
  /** Milliseconds from the start of each accepted operation to its success. */
  latencies: number[];
  seconds: number;
}

/**
 * Starts `send(id)` at `perSecond` (checked every 2 ms) until `perSecond × durationMs` were sent
 * and all have settled; `send` resolves when the operation succeeded, rejects when it failed.
 * Bounded in count, and in time: it gives up 15 s past the duration.
 */
export async function atRate(opts: PaceOptions, send: (id: string) => Promise<unknown>): Promise<PaceResult> {
  const total = Math.round((opts.perSecond * opts.durationMs) / 1000);
  const maxInFlight = opts.maxInFlight ?? 64;
  const result: PaceResult = { sent: 0, accepted: 0, failed: 0, latencies: [], seconds: 0 };
  let inFlight = 0;
  const start = performance.now();
  const hardStop = start + opts.durationMs + 15_000;
  const begin = (id: string) => {
    const t0 = performance.now();
    opts.onSend?.(id, t0);
    inFlight++;
    send(id).then(
      () => {
        inFlight--;
        result.accepted++;
        result.latencies.push(performance.now() - t0);
      },
      () => {
        inFlight--;
        result.failed++;
      },
    );
  };
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.perSecond));
      while (result.sent < due && inFlight < maxInFlight) begin(`${opts.idPrefix}_${result.sent++}`);
      if ((result.sent >= total && inFlight === 0) || now > hardStop) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

export interface RateOptions extends PaceOptions {
  url: string;
  key: string;
}

/** POST /v1/events at a fixed rate; `latencies` are POST → 202. */
export async function publishAtRate(opts: RateOptions): Promise<PaceResult> {
  const { hostname, port } = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxInFlight ?? 64 });
  const post = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const body = envelopeJson(id);
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
          res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy());
      req.end(body);
    });
  try {
    return await atRate(opts, post);
  } finally {
    agent.destroy();
  }
}
