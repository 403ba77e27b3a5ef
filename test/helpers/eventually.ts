// The one way tests wait: for a condition (`eventually`), or, where a test must let time pass
// (an expiry, a window in which something must NOT happen), for an explicit, named window (`waitOut`).

export interface EventuallyOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between two probes (default 25 ms). */
  intervalMs?: number;
  /** Give up after this many probes too (default: as many as fit in timeoutMs, plus one). */
  maxTries?: number;
}

/** A short, printable view of the last probed value, for the timeout message. */
function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Probes until `done(value)` holds and returns that value. Bounded in time and in count: throws
 * `timed out after … waiting for <what>; last value: …` otherwise. A probe that throws fails at once
 * (catch inside the probe what is expected to fail for a while, e.g. a request while NATS restarts).
 */
export async function eventually<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean = Boolean,
  opts: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 25;
  const maxTries = opts.maxTries ?? Math.ceil(timeoutMs / intervalMs) + 1;
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    const value = await probe();
    if (done(value)) return value;
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs || tries >= maxTries) {
      throw new Error(`timed out after ${elapsed} ms (${tries} tries) waiting for ${what}; last value: ${preview(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsed)));
  }
}

/**
 * Lets `ms` pass, for the few waits that are about time itself: an expiry the test must cross, or a
 * window in which something must not happen. `why` says which (it documents the call site).
 */
export async function waitOut(ms: number, why: string): Promise<void> {
  if (!(ms >= 0 && ms <= 10_000)) throw new Error(`waitOut(${ms}) for ${why}: keep explicit waits between 0 and 10 s`);
  await new Promise((resolve) => setTimeout(resolve, ms));
}
