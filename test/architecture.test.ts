// Import rules of the product code, from .dependency-cruiser.cjs (`npm run lint:deps` checks the same on its own):
// no import cycle among src/, routes/ and schemas/ (type-only imports count), and only src/bus/ imports
// @nats-io/* (dev tooling exempt). The last two tests check that the rules catch what they should.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import t, { type Test } from 'tap';

const ROOT = join(import.meta.dirname, '..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;

interface Broken {
  cycles: string[];
  natsOutsideBus: string[];
}

/** The rule violations of cruising `dirs` under `baseDir`, each as one readable line. */
async function violations(baseDir: string, dirs: string[]): Promise<Broken> {
  const { options, ...ruleSet } = config;
  const { tsConfig: _tsConfig, ...rest } = options ?? {};
  const result = await cruise(dirs, {
    ...rest,
    ...(baseDir === ROOT ? { tsConfig: options?.tsConfig } : {}),
    baseDir,
    validate: true,
    ruleSet,
    outputType: 'json',
  });
  const output = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  const broken: Broken = { cycles: [], natsOutsideBus: [] };
  for (const v of output.summary.violations) {
    if (v.rule.name === 'no-cycle') broken.cycles.push([v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' → '));
    else if (v.rule.name === 'nats-only-in-bus') broken.natsOutsideBus.push(`${v.from} imports ${v.unresolvedTo ?? v.to}`);
    else throw new Error(`unexpected rule ${v.rule.name}: ${JSON.stringify(v)}`);
  }
  return { cycles: [...new Set(broken.cycles)].sort(), natsOutsideBus: [...new Set(broken.natsOutsideBus)].sort() };
}

function fixture(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-deps-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const code = await violations(ROOT, ['src', 'routes', 'schemas']);

t.test('no import cycle among src/, routes/ and schemas/ (type-only imports count)', async (t) => {
  t.same(code.cycles, [], `import cycles: ${code.cycles.join('; ')}`);
});

t.test('only src/bus/ imports @nats-io/* (dev tooling exempt)', async (t) => {
  t.same(code.natsOutsideBus, [], `NATS imports outside src/bus/: ${code.natsOutsideBus.join('; ')}`);
});

t.test('the rules catch a type-only cycle', async (t) => {
  const dir = fixture(t, {
    'src/a.ts': "import type { B } from './b.ts';\nexport interface A { b?: B }\n",
    'src/b.ts': "import type { A } from './a.ts';\nexport interface B { a?: A }\n",
    'routes/c.ts': "import type { A } from '../src/a.ts';\nexport type C = A;\n",
  });
  const found = await violations(dir, ['src', 'routes']);
  t.same(found.cycles, ['src/a.ts → src/b.ts → src/a.ts']);
});

t.test('the rules catch a NATS import outside src/bus/, and leave src/bus/ and dev/ alone', async (t) => {
  const dir = fixture(t, {
    'src/leak.ts': "import { connect } from '@nats-io/transport-node';\nexport const c = connect;\n",
    'src/typed-leak.ts': "import type { JsMsg } from '@nats-io/jetstream';\nexport type M = JsMsg;\n",
    'src/bus/connection.ts': "import { connect } from '@nats-io/transport-node';\nexport const c = connect;\n",
    'dev/nats-server.ts': "import { connect } from '@nats-io/transport-node';\nexport const c = connect;\n",
  });
  const found = await violations(dir, ['src', 'dev']);
  t.same(found.natsOutsideBus, ['src/leak.ts imports @nats-io/transport-node', 'src/typed-leak.ts imports @nats-io/jetstream']);
});
