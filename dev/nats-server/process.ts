// A nats-server child process with JetStream, listening on 127.0.0.1: the gateway's embedded
// server when NATS_URL is unset, and the real server every test runs against.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface NatsServerOptions {
  bin: string;
  storeDir: string;
  /** Client port; 0 or omitted picks a free one. */
  port?: number;
  /** JetStream memory/file limits, e.g. '256MB'. */
  maxFileStore?: string;
  startTimeoutMs?: number;
  log?: (line: string) => void;
  /** More command-line options, e.g. a server name and cluster routes (test clusters). */
  extraArgs?: readonly string[];
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGTERM (lame-duck free), wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit. */
  kill(): Promise<void>;
}

export async function startNatsServer(opts: NatsServerOptions): Promise<NatsServer> {
  mkdirSync(opts.storeDir, { recursive: true });
  const args = ['-a', '127.0.0.1', '-p', String(opts.port && opts.port > 0 ? opts.port : -1), '-js', '-sd', opts.storeDir];
  if (opts.maxFileStore) args.push('--max_file_store', opts.maxFileStore);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  const child = spawn(opts.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tail: string[] = [];

  const port = await new Promise<number>((resolve, reject) => {
    let listening: number | undefined;
    const timer = setTimeout(() => fail(new Error('nats-server did not become ready in time')), opts.startTimeoutMs ?? 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${tail.join('\n')}`));
    };
    child.once('error', fail);
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`nats-server exited (${code ?? signal}) before it was ready`));
    child.once('exit', onExit);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      opts.log?.(line);
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(line);
      if (m) listening = Number(m[1]);
      if (line.includes('Server is ready') && listening !== undefined) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(listening);
      }
    });
  });

  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

/**
 * The gateway's embedded server. Its pid is kept in `<storeDir>/embedded-nats-server.pid`: a
 * gateway killed with SIGKILL cannot stop its child, so the next start on the same storage stops
 * the orphan first (it would otherwise hold the store).
 */
export async function startEmbeddedNatsServer(opts: NatsServerOptions & { warn?: (msg: string) => void }): Promise<NatsServer> {
  const pidFile = join(opts.storeDir, 'embedded-nats-server.pid');
  mkdirSync(opts.storeDir, { recursive: true });
  await stopOrphan(pidFile, opts.warn);
  const server = await startNatsServer(opts);
  writeFileSync(pidFile, String(server.process.pid));
  const forget = () => rmSync(pidFile, { force: true });
  return {
    ...server,
    stop: () => server.stop().finally(forget),
    kill: () => server.kill().finally(forget),
  };
}

async function stopOrphan(pidFile: string, warn?: (msg: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const isNatsServer = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server');
    } catch {
      return false; // gone (or no /proc): nothing to stop
    }
  };
  if (Number.isInteger(pid) && pid > 0 && isNatsServer()) {
    warn?.(`stopping the orphaned embedded nats-server (pid ${pid}) left by a previous run`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isNatsServer(); i++) await new Promise((r) => setTimeout(r, 50));
    if (isNatsServer()) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}
