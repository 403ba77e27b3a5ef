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

/** This data dir's embedded nats-server belongs to a gateway that still runs: the start stops (exit 2). */
export class DataDirBusyError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'DataDirBusyError';
  }
}

/**
 * The gateway's embedded server. `<storeDir>/embedded-nats-server.pid` holds its pid and the pid of
 * the gateway that started it. A gateway killed with SIGKILL cannot stop its child, so the next
 * start on the same storage stops that orphan first (it would otherwise hold the store); but only
 * a provable orphan: a nats-server whose parent is no longer the gateway that started it. One whose
 * gateway still runs (a second `npm start` in the same checkout) is left alone and the new start
 * fails with DataDirBusyError, naming both pids.
 */
export async function startEmbeddedNatsServer(opts: NatsServerOptions & { warn?: (msg: string) => void }): Promise<NatsServer> {
  const pidFile = join(opts.storeDir, 'embedded-nats-server.pid');
  mkdirSync(opts.storeDir, { recursive: true });
  await stopOrphan(pidFile, opts.storeDir, opts.warn);
  const server = await startNatsServer(opts);
  writeFileSync(pidFile, JSON.stringify({ nats_pid: server.process.pid, gateway_pid: process.pid }));
  const forget = () => {
    // Only our own record: another instance may have taken the directory over meanwhile.
    if (readPidFile(pidFile)?.natsPid === server.process.pid) rmSync(pidFile, { force: true });
  };
  return {
    ...server,
    stop: () => server.stop().finally(forget),
    kill: () => server.kill().finally(forget),
  };
}

/** The pids recorded in the pid file; a bare number (older gateways) is the nats-server's alone. */
function readPidFile(pidFile: string): { natsPid: number; gatewayPid: number | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'number') return { natsPid: parsed, gatewayPid: undefined };
    const rec = parsed as { nats_pid?: unknown; gateway_pid?: unknown };
    if (typeof rec.nats_pid === 'number') {
      return { natsPid: rec.nats_pid, gatewayPid: typeof rec.gateway_pid === 'number' ? rec.gateway_pid : undefined };
    }
  } catch {
    // not JSON: nothing we wrote
  }
  return undefined;
}

/** The parent pid of `pid` (from /proc), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    // `<pid> (<comm>) <state> <ppid> …`; the command name may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function stopOrphan(pidFile: string, storeDir: string, warn?: (msg: string) => void): Promise<void> {
  const rec = readPidFile(pidFile);
  if (!rec) {
    rmSync(pidFile, { force: true });
    return;
  }
  const pid = rec.natsPid;
  const isNatsServer = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server');
    } catch {
      return false; // gone (or no /proc): nothing to stop
    }
  };
  if (Number.isInteger(pid) && pid > 0 && isNatsServer()) {
    const parent = parentOf(pid);
    // An orphan is re-parented (to init or a subreaper) when its gateway dies: a nats-server still
    // the child of the gateway that recorded it is that gateway's, running. Without a recorded
    // gateway (older pid files), only a server re-parented to init counts as an orphan.
    const orphan = rec.gatewayPid === undefined ? parent === 1 : parent !== rec.gatewayPid;
    if (!orphan) {
      const owner = rec.gatewayPid ?? parent;
      throw new DataDirBusyError(
        `NATS_DATA_DIR ${storeDir} is in use by another gateway (pid ${owner}, its embedded nats-server pid ${pid}): ` +
          'stop that gateway first, or give this one another NATS_DATA_DIR (or a NATS_URL)',
      );
    }
    warn?.(`stopping the orphaned embedded nats-server (pid ${pid}) left by a previous run`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isNatsServer(); i++) await new Promise((r) => setTimeout(r, 50));
    if (isNatsServer()) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}
