// The baseline: the same envelopes published straight to JetStream with `@nats-io/jetstream`,
// with a message id (the gateway's dedupe key) and a fixed number of publishes in flight, on a
// connection of its own. Bounded by a duration and a count.
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventSubject } from '../src/bus/subjects.ts';
import { atRate, type PaceOptions, type PaceResult } from './rate-publisher.ts';
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

export interface DirectRateOptions extends PaceOptions {
  natsUrl: string;
  subjectPrefix?: string;
}

/**
 * The baseline of the end-to-end scenario: publishes straight to JetStream at a fixed rate, paced
 * like `publishAtRate` paces POSTs; `latencies` are publish → acknowledgement.
 */
export async function directPublishAtRate(opts: DirectRateOptions): Promise<PaceResult> {
  const nc = await connect({ servers: opts.natsUrl, name: 'gateway-bench-direct-rate', noAsyncTraces: true });
  try {
    const js = jetstream(nc, { timeout: 10_000 });
    const subject = eventSubject(opts.subjectPrefix ?? 'events', BENCH_TENANT, EXAMPLE_TYPE, EXAMPLE_CORRELATION_ID);
    return await atRate(opts, (id) => js.publish(subject, envelopeJson(id), { msgID: `${BENCH_TENANT}:${id}` }));
  } finally {
    await nc.close();
  }
}
