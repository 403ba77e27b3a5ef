// Reads back what JetStream really stored, over a connection of the test's own.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export interface StoredEvent {
  seq: number;
  subject: string;
  event: unknown;
}

/** The stored messages whose subject matches `filter`, in stream order (bounded by `max`). */
export async function storedEvents(
  natsUrl: string,
  filter: string,
  opts: { fromSeq?: number; max?: number; stream?: string } = {},
): Promise<StoredEvent[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(opts.stream ?? 'EVENTS', {
      filter_subjects: [filter],
      ...(opts.fromSeq ? { opt_start_seq: opts.fromSeq } : {}),
    });
    const info = await consumer.info(true);
    const want = Math.min(info.num_pending, opts.max ?? 10_000);
    const out: StoredEvent[] = [];
    if (want === 0) return out;
    const messages = await consumer.fetch({ max_messages: want, expires: 5000 });
    for await (const m of messages) {
      out.push({ seq: m.seq, subject: m.subject, event: m.json() });
      if (out.length >= want) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** What nats-server says of a consumer now (e.g. `num_waiting`: pull requests waiting), over the test's own connection. */
export async function consumerInfo(natsUrl: string, consumer: string, stream = 'EVENTS') {
  const nc = await connect({ servers: natsUrl });
  try {
    return await (await jetstreamManager(nc)).consumers.info(stream, consumer);
  } finally {
    await nc.close();
  }
}
