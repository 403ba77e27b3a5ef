// A real pino logger whose JSON lines a test reads back: `raw` as written, `lines` parsed.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export interface LogCapture {
  logger: Logger;
  /** Every line as written. */
  raw: string[];
  /** Every line, parsed. */
  lines: Record<string, unknown>[];
}

export function captureLogs(level = 'info'): LogCapture {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level }, sink), raw, lines };
}
