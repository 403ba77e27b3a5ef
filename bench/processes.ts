// The processes a bench run measures: its own nats-server and the gateway as a child process
// (`node src/main.ts`), so the gateway's RSS and CPU are its own and not the load generator's.
// Both listen on 127.0.0.1 only and are stopped (and their storage removed) by `stop`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../src/auth/api-keys.ts';
import { findNatsServer, natsServerVersion } from '../dev/nats-server/binary.ts';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { type NatsServer, startNatsServer } from '../dev/nats-server/process.ts';
import { BENCH_TENANT } from './payload.ts';

/** CPU seconds (user + system) and resident memory of a process, read from /proc (Linux). */
export interface ProcessSample {
  cpuSeconds: number;
  rssBytes: number;
}

const CLOCK_TICKS = 100; // USER_HZ; 100 on every Linux the project runs on

export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

export interface BenchNats {
  server: NatsServer;
  version: string;
  /** nats-server's own WebSocket listener (the fan-out peer), ws://127.0.0.1:<port>. */
  wsUrl: string;
}

export async function startBenchNats(): Promise<BenchNats & { stop(): Promise<void> }> {
  const bin = await findNatsServer();
  const version = (await natsServerVersion(bin))?.join('.') ?? 'unknown';
  const storeDir = mkdtempSync(join(tmpdir(), 'gw-bench-nats-'));
  // A WebSocket listener too, on a free loopback port: the peer of the gateway's fan-out.
  const config = join(storeDir, 'bench.conf');
  writeFileSync(config, 'websocket {\n  listen: "127.0.0.1:-1"\n  no_tls: true\n}\n');
  let wsUrl = '';
  const server = await startNatsServer({
    bin,
    storeDir,
    extraArgs: ['-c', config],
    log: (line) => {
      const m = /Listening for websocket clients on (ws:\/\/[^\s]+)/.exec(line);
      if (m) wsUrl = m[1] as string;
    },
  });
  if (!wsUrl) {
    await server.kill();
    throw new Error('nats-server did not report its WebSocket listener');
  }
  return {
    server,
    version,
    wsUrl,
    stop: async () => {
      await server.kill();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

export interface GatewayProcess {
  url: string;
  pid: number;
  /** The bench tenant's raw API key (publish, subscribe, read). */
  key: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `node src/main.ts` (or `script`) against `natsUrl` and waits until /readyz answers 200. */
export async function startGatewayProcess(
  natsUrl: string,
  env: Record<string, string> = {},
  /** A directory for a V8 CPU profile of the gateway (`node --cpu-prof`), written when it stops. */
  cpuProfileDir?: string,
  /** What to run, relative to the project: the gateway, or bench/bare-bridge.ts (the reference). */
  script = 'src/main.ts',
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-keys-'));
  const key = `bench-key-${process.pid}-${Date.now()}`;
  const keyFile = join(dir, 'keys.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      keys: [{ tenant_id: BENCH_TENANT, key_sha256: sha256(key).toString('hex'), scopes: ['publish', 'subscribe', 'read'] }],
    }),
  );
  const port = await freePort();
  // BENCH_GATEWAY_NODE_ARGS: node options for the gateway child (space-separated), e.g. `--trace-gc`
  // or `--max-semi-space-size=64`, to try V8 settings side by side (docs/benchmarks.md).
  const extra = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const nodeArgs = [...extra, ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [])];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NATS_URL: natsUrl, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', API_KEYS_FILE: keyFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString());
    if (tail.length > 40) tail.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the gateway exited (${child.exitCode}) before it was ready:\n${tail.join('')}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the gateway did not become ready in 30 s:\n${tail.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid as number, key, child, stop };
}
