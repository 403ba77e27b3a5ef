// The gateway as a child process (`node src/main.ts`), for what only a process shows: signals,
// exit codes, the start before NATS answers, the embedded nats-server's pid file.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../dev/paths.ts';
import { eventually } from './eventually.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ChildGateway {
  child: ChildProcess;
  /** Every line it wrote (stdout and stderr), as it goes. */
  lines: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** http://127.0.0.1:<port> once it listens (see `listening`). */
  url: string;
  /** Waits (bounded) until the gateway logged that it listens; returns its URL. */
  listening(timeoutMs?: number): Promise<string>;
}

/** Starts `node src/main.ts` with `env` over a quiet, loopback, port-0 default; SIGKILLed at teardown. */
export function spawnGateway(t: Teardown, env: Record<string, string>): ChildGateway {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', API_KEYS_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => lines.push(l));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  const gw: ChildGateway = {
    child,
    lines,
    exited,
    url: '',
    listening: async (timeoutMs = 15_000) => {
      const line = await eventually(
        'the gateway to listen',
        () => {
          if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${lines.join('\n')}`);
          return lines.find((l) => /Server listening at http:\/\/127\.0\.0\.1:\d+/.test(l));
        },
        Boolean,
        { timeoutMs, intervalMs: 20 },
      );
      gw.url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line as string)?.[1] as string;
      return gw.url;
    },
  };
  return gw;
}
