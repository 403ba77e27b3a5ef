// Real nats-server processes for tests: a random port, a temporary store, stopped at teardown.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer } from '../../dev/nats-server/binary.ts';
import { type NatsServer, startNatsServer } from '../../dev/nats-server/process.ts';
import { eventually } from './eventually.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestNats extends NatsServer {
  storeDir: string;
  /** Start again on the same port with the same storage (after stop or kill). */
  restart(): Promise<TestNats>;
  /**
   * SIGSTOP, resolved once every thread of the server has stopped: the connection stays open but
   * nothing is answered. (kill() returns before a thread running on another CPU has stopped.)
   */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
}

/** Every thread of `pid` is stopped (state T in /proc). */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  // The state follows the command name in parentheses: `<tid> (<comm>) <state> ...`.
  return tasks.every((tid) => /\) T /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
}

export async function startNats(
  t: Teardown,
  opts: {
    storeDir?: string;
    port?: number;
    /**
     * nats-server configuration text (authorization, accounts, tls blocks…), written to a file in
     * the store directory and passed with `-c`; the command line still sets the address, port,
     * JetStream and store directory.
     */
    config?: string;
    /** Every line the server logs (e.g. to look for permission violations). */
    log?: (line: string) => void;
  } = {},
): Promise<TestNats> {
  const bin = await findNatsServer();
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'gw-nats-'));
  const owned = opts.storeDir === undefined;
  let extraArgs: string[] | undefined;
  if (opts.config !== undefined) {
    const file = join(storeDir, 'test-nats-server.conf');
    writeFileSync(file, opts.config);
    extraArgs = ['-c', file];
  }
  let current = await startNatsServer({ bin, storeDir, port: opts.port, extraArgs, log: opts.log });
  // One teardown for the server and every restart of it, registered before the gateways that use it:
  // tap runs teardowns last-registered first, so they close while it still runs (a gateway closing
  // while NATS is down waits seconds for its drain to give up).
  t.teardown(async () => {
    await current.kill();
    if (owned) rmSync(storeDir, { recursive: true, force: true });
  });
  const handle = (server: NatsServer): TestNats => ({
    ...server,
    storeDir,
    restart: async () => {
      await server.kill(); // no-op once stopped or killed
      current = await startNatsServer({ bin, storeDir, port: server.port, extraArgs, log: opts.log });
      return handle(current);
    },
    pause: async () => {
      server.process.kill('SIGSTOP');
      await eventually('every nats-server thread to stop', () => allThreadsStopped(server.process.pid as number), Boolean, {
        timeoutMs: 5000,
        intervalMs: 5,
      });
    },
    resume: () => {
      server.process.kill('SIGCONT');
    },
  });
  return handle(current);
}
