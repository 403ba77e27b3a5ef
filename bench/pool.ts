// Opening and closing many bench clients (WebSocket subscribers of the gateway or of nats-server,
// SSE streams) the same way: `parallel` connecting at a time, all closed if one fails; closed
// together, waiting at most `timeoutMs` for them to be gone.

export interface Closable {
  close(): void;
  /** Settles once the connection is closed. */
  readonly closed: Promise<unknown>;
}

/** Opens `count` clients with `open(i)`, `parallel` at a time; on a failure closes those opened. */
export async function openMany<T extends Closable>(count: number, open: (i: number) => Promise<T>, parallel = 50): Promise<T[]> {
  const opened: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      opened.push(await open(i));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  } catch (err) {
    for (const c of opened) c.close();
    throw err;
  }
  return opened;
}

/** Closes every client and waits until all are closed, or `timeoutMs` passed. */
export async function closeMany(clients: Closable[], timeoutMs = 10_000): Promise<void> {
  for (const c of clients) c.close();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(clients.map((c) => c.closed)), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}
