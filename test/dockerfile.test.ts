// The Dockerfile's promises, checked without a Docker engine: stages, a non-root user, production
// dependencies only, a health check that starts no Node process, and that everything it copies
// exists, is not excluded by .dockerignore, and covers every module the gateway imports.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions with their continuation lines joined, comments dropped, numbered by stage. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const [keyword = '', ...rest] = pending.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage++;
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), stage });
    pending = '';
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
const froms = dockerfile.filter((i) => i.keyword === 'FROM');
const finalStage = froms.length - 1;
const final = dockerfile.filter((i) => i.stage === finalStage);
const stageNames = froms.map((f) => /\bAS\s+(\S+)/i.exec(f.args)?.[1]).filter((n): n is string => Boolean(n));

t.test('multi-stage, on the Node 24 image', async (t) => {
  t.ok(froms.length >= 2, `${froms.length} stages`);
  t.match(froms[finalStage]?.args ?? '', /^node:24[.\-\w]*\b/, 'the image that runs is node:24');
  const copiesModules = final.some((i) => i.keyword === 'COPY' && /--from=\S+/.test(i.args) && /node_modules/.test(i.args));
  t.ok(copiesModules, 'node_modules come from a build stage');
});

t.test('production dependencies only', async (t) => {
  const installs = dockerfile.filter((i) => i.keyword === 'RUN' && /\bnpm\s+(ci|install|i)\b/.test(i.args));
  t.ok(installs.length > 0, 'dependencies are installed with npm');
  for (const run of installs) {
    t.match(run.args, /\bnpm ci\b/, `reproducible from the lockfile: ${run.args}`);
    t.match(run.args, /--omit=dev\b/, `without devDependencies: ${run.args}`);
  }
  t.notOk(
    final.some((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args)),
    'the final stage runs no npm',
  );
});

t.test('runs as a non-root user', async (t) => {
  const users = final.filter((i) => i.keyword === 'USER');
  t.ok(users.length > 0, 'the final stage sets USER');
  const user = users.at(-1)?.args.split(':')[0] ?? '';
  t.notOk(['root', '0', ''].includes(user), `USER ${user}`);
  const afterUser = final.slice(final.indexOf(users.at(-1) as Instruction));
  t.ok(
    afterUser.some((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT'),
    'the command runs after USER',
  );
});

t.test('the health check starts no Node process and probes the gateway', async (t) => {
  const health = final.filter((i) => i.keyword === 'HEALTHCHECK');
  t.equal(health.length, 1, 'one HEALTHCHECK');
  const check = health[0]?.args ?? '';
  const command = check.replace(/^(--\S+\s+)*CMD\s+/, '');
  t.notMatch(command, /\bnode\b|\bnpm\b|\bnpx\b/, `no Node: ${command}`);
  t.match(command, /\b(wget|curl)\b/, 'an HTTP probe');
  t.match(command, /http:\/\/127\.0\.0\.1:(\$\{?PORT\}?|8080)\/(healthz|readyz)/, 'at the gateway');
  const probe = /\bbusybox\b/.test(command) ? 'busybox' : /\bwget\b/.test(command) ? 'wget' : 'curl';
  t.ok(
    final.some((i) => (i.keyword === 'COPY' || i.keyword === 'RUN') && i.args.includes(probe)),
    `the final stage brings ${probe} (the slim Node image has no wget or curl)`,
  );
  t.match(check, /--timeout=\d+s/, 'a probe that hangs counts as failed');
});

t.test('every copied path exists and is in the build context', async (t) => {
  const ignored = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const isIgnored = (path: string) =>
    ignored.some((pattern) => {
      const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`);
      return re.test(path);
    });
  for (const copy of dockerfile.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    const parts = copy.args
      .split(/\s+/)
      .filter((p) => !p.startsWith('--'))
      .slice(0, -1);
    if (from) {
      t.ok(stageNames.includes(from) || /[:/]/.test(from), `COPY --from=${from} names a stage or an image`);
      continue;
    }
    for (const src of parts) {
      t.ok(existsSync(join(PROJECT_ROOT, src)), `${src} exists`);
      t.notOk(isIgnored(src.replace(/^\.\//, '').replace(/\/$/, '')), `${src} is not excluded by .dockerignore`);
    }
  }
});

t.test('the image holds every module the gateway imports, and its command', async (t) => {
  const cmd = final.find((i) => i.keyword === 'CMD')?.args ?? '';
  t.same(JSON.parse(cmd), ['node', 'src/main.ts'], 'CMD runs the gateway with plain node');
  const copied = final
    .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .slice(0, -1)
        .map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')),
    );
  // Static relative imports from src/main.ts, transitively (dev/ is imported only when NATS_URL is
  // unset and main.ts explains its absence, so a dynamic import is not followed).
  const seen = new Set<string>();
  const queue = [resolve(PROJECT_ROOT, 'src/main.ts')];
  while (queue.length > 0 && seen.size < 2000) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      queue.push(resolve(file, '..', m[1] as string));
    }
  }
  const outside = [...seen].map((f) => relative(PROJECT_ROOT, f)).filter((f) => !copied.some((c) => f === c || f.startsWith(`${c}/`)));
  t.same(outside, [], `every imported module is copied (${seen.size} modules)`);
  t.ok(seen.size > 20, 'the import walk found the gateway');
});
