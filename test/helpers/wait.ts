// Polling with a deadline, for conditions a test cannot await directly.

/** Resolves once `condition()` holds; throws naming `what` after `ms` (polls every `everyMs`, bounded in count too). */
export async function waitFor(what: string, condition: () => boolean, ms = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; !condition(); i++) {
    if (Date.now() > deadline || i > ms / everyMs + 100) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
