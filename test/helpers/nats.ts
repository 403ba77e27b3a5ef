// Real nats-server processes for tests: a random port, a temporary store, stopped at teardown.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer } from '../../src/bus/nats-server-binary.ts';
import { type NatsServer, startNatsServer } from '../../src/bus/nats-server-process.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestNats extends NatsServer {
  storeDir: string;
  /** Start again on the same port with the same storage (after stop or kill). */
  restart(): Promise<TestNats>;
}

export async function startNats(t: Teardown, opts: { storeDir?: string; port?: number } = {}): Promise<TestNats> {
  const bin = await findNatsServer();
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'gw-nats-'));
  const server = await startNatsServer({ bin, storeDir, port: opts.port });
  const owned = opts.storeDir === undefined;
  t.teardown(async () => {
    await server.kill();
    if (owned) rmSync(storeDir, { recursive: true, force: true });
  });
  return {
    ...server,
    storeDir,
    restart: () => startNats(t, { storeDir, port: server.port }),
  };
}
