// Where a delivery from a position starts, resolved against what the stream holds now: a start
// older than the oldest event held starts at the oldest, and says so (`truncated`).
import type { StartFrom, StreamBounds } from '../bus/index.ts';

export interface StartPoint {
  /** Where the consumer starts. */
  from: StartFrom;
  /** The first sequence delivery starts at, when known. */
  start_seq?: number;
  truncated: boolean;
}

export function startPoint(from: StartFrom | undefined, stream: StreamBounds | undefined): StartPoint {
  const first = stream?.firstSeq ?? 1;
  const last = stream?.lastSeq ?? 0;
  const oldest = Math.max(first, 1);
  if (from === undefined || from === 'new') return { from: 'new', start_seq: last + 1, truncated: false };
  if (from === 'all') return { from: 'all', start_seq: oldest, truncated: false };
  if ('seq' in from) {
    const seq = Math.max(from.seq, oldest);
    return { from: { seq }, start_seq: seq, truncated: from.seq < oldest && last > 0 };
  }
  const firstTs = stream?.firstTime ? Date.parse(stream.firstTime) : Number.NaN;
  const at = Date.parse(from.time);
  if (Number.isFinite(firstTs) && at < firstTs && last >= oldest) {
    return { from: { seq: oldest }, start_seq: oldest, truncated: true };
  }
  return { from: { time: new Date(at).toISOString() }, truncated: false };
}
