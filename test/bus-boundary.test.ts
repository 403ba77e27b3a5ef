// The shape of the code, checked: NATS belongs to src/bus/ (nothing else imports @nats-io/*), and
// the imports among src/, routes/ and schemas/ (type-only ones included) form no cycle.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '..');

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts')) out.push(path);
    }
  };
  for (const dir of ['src', 'routes', 'schemas']) walk(dir);
  return out;
}

/** Every module specifier a file imports or re-exports, type-only ones included. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?'([^']+)'/gm)].map((m) => m[1] as string);
}

t.test('only src/bus/ imports @nats-io/*', async (t) => {
  const outside = sources().filter(
    (f) => !f.startsWith('src/bus/') && specifiers(f).some((s) => s.startsWith('@nats-io/')),
  );
  t.same(outside, []);
});

t.test('no import cycle among src/, routes/ and schemas/', async (t) => {
  const files = new Set(sources());
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = specifiers(f)
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(ROOT, resolve(ROOT, dirname(f), s)))
      .filter((d) => files.has(d));
    graph.set(f, deps);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  t.same(cycles, []);
});
