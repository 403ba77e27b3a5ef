// A nats-server child process with JetStream, listening on 127.0.0.1: the gateway's embedded
// server when NATS_URL is unset, and the real server every test runs against.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
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
