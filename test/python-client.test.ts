// The Python client package (clients/python, standard library only) as a user gets it: installed
// with pip into a fresh virtual environment with no package index (`--no-index`: its build backend
// is in the package, so nothing is downloaded), then used against a live gateway by
// test/python/client_flow.py, which calls every operation and prints one JSON line per step.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
        timeout: opts.timeout ?? 120_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

t.test('pip installs clients/python offline into a venv, and the client works against a live gateway', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'python-client-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const venv = join(work, 'venv');
  const created = await run('python3', ['-m', 'venv', venv], { cwd: work });
  t.equal(created.code, 0, `python3 -m venv (Debian: apt-get install python3-venv): ${created.stderr}`);
  const python = join(venv, 'bin', 'python');
  const install = await run(
    python,
    ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--no-cache-dir', join(PROJECT_ROOT, 'clients', 'python')],
    { cwd: work },
  );
  t.equal(install.code, 0, `pip install: ${install.stdout}${install.stderr}`);

  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  // Run from the temporary directory, so the import finds the installed copy, not the repository's.
  const flow = await run(python, [join(PROJECT_ROOT, 'test', 'python', 'client_flow.py'), gw.url, KEYS.a], { cwd: work, timeout: 60_000 });
  t.equal(flow.code, 0, `client_flow.py: ${flow.stderr}\n${flow.stdout}`);
  const steps = Object.fromEntries(
    flow.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { step: string })
      .map((s) => [s.step, s]),
  ) as Record<string, Record<string, unknown>>;

  t.match(
    steps.installed?.module,
    new RegExp(`^${venv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/lib/python3[^/]*/site-packages/platforma_events/`),
  );
  const first = steps.publish as { seq: number };
  t.match(steps.publish, { id: /^evt_[0-9a-f]{32}$/, duplicate: false, again_seq: first.seq, again_duplicate: true });
  t.same(steps.batch, { step: 'batch', failed: 1, codes: ['GW_VALIDATION_FAILED'] });
  t.same(steps.history, { step: 'history', first_page: 1, has_next: true, all: ['order.created', 'order.validated'] });
  t.same(steps.correlation, { step: 'correlation', count: 2, types: ['order.created', 'order.validated'] });
  t.same(steps.put_consumer, { step: 'put_consumer', name: 'py-billing', types: ['order.*'] });
  t.same(steps.fetch, { step: 'fetch', seqs: [first.seq, first.seq + 1], acks: [true], naks: [true] });
  t.match(steps.dead_letters, { original: [first.seq + 1], reasons: ['max_deliver_exceeded'] });
  t.same(steps.redrive, { step: 'redrive', redriven: 1 });
  t.equal((steps.refetch?.seqs as number[] | undefined)?.length, 1, 'the redriven event is delivered again');
  t.same(steps.get_consumer, { step: 'get_consumer', name: 'py-billing' });
  t.same(steps.delete_consumer, { step: 'delete_consumer', deleted: true });
  t.same(steps.problem, { step: 'problem', status: 404, code: 'GW_NOT_FOUND', request_id: true });
});
