// What the numbers were measured on: CPU model and count, memory, Node, nats-server, the commit,
// and the load average when the run started (other work on the machine skews every figure).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { PROJECT_ROOT } from '../dev/paths.ts';

export interface MachineInfo {
  cpu_model: string;
  cpu_count: number;
  memory_gib: number;
  os: string;
  node: string;
  nats_server: string;
  gateway_version: string;
  commit: string;
  load_average: number[];
}

export function describeMachine(natsServerVersion: string): MachineInfo {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout (a container image): the version below still says what ran.
  }
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpu_count: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nats_server: natsServerVersion,
    gateway_version: pkg.version,
    commit,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
