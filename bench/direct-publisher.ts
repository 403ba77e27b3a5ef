// The baseline: the same envelopes published straight to JetStream with `@nats-io/jetstream`,
// with a message id (the gateway's dedupe key) and a fixed number of publishes in flight, on a
// connection of its own. Bounded by a duration and a count.
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventSubject } from '../src/bus/subjects.ts';
import { BENCH_TENANT, EXAMPLE_CORRELATION_ID, EXAMPLE_TYPE, envelopeJson } from './payload.ts';
import type { LoadResult } from './http-load.ts';
import { latencySummary } from './stats.ts';

export interface DirectOptions {
  natsUrl: string;
  /** Publishes awaiting their acknowledgement at any time. */
  inFlight: number;
  durationMs: number;
  /** Upper bound on publishes, whatever the duration. */
  maxEvents: number;
  subjectPrefix?: string;
}

let runs = 0;

export async function directPublish(opts: DirectOptions): Promise<LoadResult> {
  // Without async stack traces, as the gateway connects: the baseline should not pay for them.
  const nc = await connect({ servers: opts.natsUrl, name: 'gateway-bench-direct', noAsyncTraces: true });
  try {
    const js = jetstream(nc, { timeout: 10_000 });
    const subject = eventSubject(opts.subjectPrefix ?? 'events', BENCH_TENANT, EXAMPLE_TYPE, EXAMPLE_CORRELATION_ID);
    const run = `${process.pid}_${Date.now()}_${runs++}`;
    const latencies: number[] = [];
    let next = 0;
    let errors = 0;
    const start = performance.now();
    const end = start + opts.durationMs;
    const worker = async () => {
      while (performance.now() < end && next < opts.maxEvents) {
        const id = `evt_d${run}_${next++}`;
        const t0 = performance.now();
        try {
          await js.publish(subject, envelopeJson(id), { msgID: `${BENCH_TENANT}:${id}` });
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.inFlight }, worker));
    const seconds = (performance.now() - start) / 1000;
    return { ok: latencies.length, errors, seconds, perSecond: latencies.length / seconds, latencyMs: latencySummary(latencies) };
  } finally {
    await nc.close();
  }
}

export interface DirectRateOptions {
  natsUrl: string;
  perSecond: number;
  durationMs: number;
  maxInFlight?: number;
  idPrefix: string;
  /** Called as each publish starts. */
  onSend?: (id: string, sentAt: number) => void;
  subjectPrefix?: string;
}

/**
 * The baseline of the end-to-end scenario: publishes straight to JetStream at a fixed rate, and
 * reports publish latencies (publish → acknowledgement) like `publishAtRate` does for POSTs.
 */
export async function directPublishAtRate(
  opts: DirectRateOptions,
): Promise<{ sent: number; accepted: number; failed: number; ackLatencies: number[]; seconds: number }> {
  const nc = await connect({ servers: opts.natsUrl, name: 'gateway-bench-direct-rate', noAsyncTraces: true });
  try {
    const js = jetstream(nc, { timeout: 10_000 });
    const subject = eventSubject(opts.subjectPrefix ?? 'events', BENCH_TENANT, EXAMPLE_TYPE, EXAMPLE_CORRELATION_ID);
    const total = Math.round((opts.perSecond * opts.durationMs) / 1000);
    const maxInFlight = opts.maxInFlight ?? 64;
    const out = { sent: 0, accepted: 0, failed: 0, ackLatencies: [] as number[], seconds: 0 };
    let inFlight = 0;
    const start = performance.now();
    const hardStop = start + opts.durationMs + 15_000;
    const publish = (id: string) => {
      const t0 = performance.now();
      opts.onSend?.(id, t0);
      inFlight++;
      js.publish(subject, envelopeJson(id), { msgID: `${BENCH_TENANT}:${id}` }).then(
        () => {
          inFlight--;
          out.accepted++;
          out.ackLatencies.push(performance.now() - t0);
        },
        () => {
          inFlight--;
          out.failed++;
        },
      );
    };
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.perSecond));
        while (out.sent < due && inFlight < maxInFlight) publish(`${opts.idPrefix}_${out.sent++}`);
        if ((out.sent >= total && inFlight === 0) || now > hardStop) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
    out.seconds = (performance.now() - start) / 1000;
    return out;
  } finally {
    await nc.close();
  }
}
