// The one payload of every scenario: the design's example envelope (EventInput's OpenAPI example),
// with a fresh `id` per event so nothing is dropped as a duplicate. Bodies are built by string
// concatenation around the id, so the load generators spend as little CPU as possible on them.
import { EventInput } from '../schemas/envelope.ts';

const EXAMPLE = (EventInput as unknown as { examples: Record<string, unknown>[] }).examples[0] as Record<string, unknown> & {
  tenant_id: string;
  type: string;
  metadata: { correlation_id: string };
};

/** The tenant the bench's API key belongs to: the example's own. */
export const BENCH_TENANT = EXAMPLE.tenant_id;
export const EXAMPLE_TYPE = EXAMPLE.type;
export const EXAMPLE_CORRELATION_ID = EXAMPLE.metadata.correlation_id;

const ID_MARK = '\u0000ID\u0000';
const [BEFORE_ID, AFTER_ID] = JSON.stringify({ ...EXAMPLE, id: ID_MARK }).split(JSON.stringify(ID_MARK)) as [string, string];

/** The example envelope as JSON with `id` set to `id`. */
export function envelopeJson(id: string): string {
  return `${BEFORE_ID}"${id}"${AFTER_ID}`;
}

/** Size of one envelope in bytes (for the report). */
export const ENVELOPE_BYTES = Buffer.byteLength(envelopeJson('evt_00000000000000000000000000'));

/**
 * Autocannon replaces `[<id>]` by a unique id per request (idReplacement), so the bodies below
 * carry fresh event ids without a per-request callback.
 */
export const AUTOCANNON_ID = '[<id>]';

export function singleBody(): string {
  return envelopeJson(`evt_${AUTOCANNON_ID}`);
}

export function batchBody(size: number): string {
  const events: string[] = [];
  for (let i = 0; i < size; i++) events.push(envelopeJson(`evt_${AUTOCANNON_ID}_${i}`));
  return `{"events":[${events.join(',')}]}`;
}
