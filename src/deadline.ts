// Waiting for something, at most so long: the gateway's bounded waits (shutdown steps, first
// attempts, readiness probes) all take this shape, and each must clear its timer whichever wins.

/**
 * `work`'s value, or `fallback` once `ms` have passed, whichever comes first. The timer is cleared
 * either way; a rejection of `work` within `ms` is passed on.
 */
export async function within<T, F = undefined>(work: Promise<T>, ms: number, fallback?: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback as F), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
