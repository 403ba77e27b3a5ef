// The bench's output: a plain-text table on stdout and the full results as JSON in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.ts';

export interface Row {
  scenario: string;
  metric: string;
  direct: string;
  gateway: string;
  /** gateway/direct, or the measured value against an absolute target. */
  ratio: string;
  target: string;
  pass: boolean | undefined;
}

export interface BenchReport {
  started_at: string;
  mode: 'full' | 'quick';
  machine: MachineInfo;
  settings: Record<string, unknown>;
  scenarios: Record<string, unknown>;
  rows: Row[];
}

export function formatTable(rows: Row[]): string {
  const header: Row = {
    scenario: 'scenario',
    metric: 'metric',
    direct: 'direct JetStream',
    gateway: 'gateway',
    ratio: 'ratio',
    target: 'target',
    pass: undefined,
  };
  const cells = (r: Row) => [
    r.scenario,
    r.metric,
    r.direct,
    r.gateway,
    r.ratio,
    r.target,
    r.pass === undefined ? '' : r.pass ? 'ok' : 'MISS',
  ];
  const all = [header, ...rows].map(cells);
  const widths = all[0]?.map((_, i) => Math.max(...all.map((c) => (c[i] as string).length))) ?? [];
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] as number)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(all[0] as string[]), rule, ...all.slice(1).map(line)].join('\n');
}

export function formatMachine(m: MachineInfo): string {
  return (
    `machine: ${m.cpu_count} x ${m.cpu_model}, ${m.memory_gib} GiB, ${m.os}\n` +
    `versions: node ${m.node}, nats-server ${m.nats_server}, gateway ${m.gateway_version} (${m.commit})\n` +
    `load average at start: ${m.load_average.join(' ')}`
  );
}

export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${report.mode}-${report.started_at.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
