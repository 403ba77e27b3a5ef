// docs/event-types.md is generated from the catalogue and stays so; its registration example is a
// file the gateway accepts in EVENT_TYPES_DIR, and every built-in example it shows is accepted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EVENT_TYPES_DOC_PATH, renderEventTypesDoc } from '../scripts/generate-docs.ts';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { loadCatalogue } from '../src/catalogue.ts';

const doc = readFileSync(EVENT_TYPES_DOC_PATH, 'utf8');
const jsonBlocks = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1] as string) as Record<string, unknown>);

t.test('docs/event-types.md is what the catalogue generates (run `npm run generate:docs`)', async (t) => {
  t.equal(doc, renderEventTypesDoc());
});

t.test('every built-in type is documented with its schema and an example its schema accepts', async (t) => {
  const catalogue = loadCatalogue(undefined);
  for (const type of Object.keys(BUILTIN_CATALOGUE)) {
    t.match(doc, `## \`${type}\``, `${type} has a section`);
    const example = jsonBlocks.find((b) => b.type === type && 'source' in b);
    t.ok(example, `${type} has an example envelope`);
    const entry = catalogue.get(type);
    t.ok(entry?.validate((example as { data: unknown }).data), `${type}: the example's data matches its schema`);
    t.ok(
      jsonBlocks.some((b) => JSON.stringify(b) === JSON.stringify(entry?.schema)),
      `${type}: the schema shown is the one the gateway serves`,
    );
  }
});

t.test('the registration example is a type file EVENT_TYPES_DIR accepts', async (t) => {
  const file = jsonBlocks.find((b) => b.type === 'dns.failed');
  t.ok(file, 'the example is in the document');
  const dir = mkdtempSync(join(tmpdir(), 'gw-event-types-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dns.failed.json'), JSON.stringify(file));
  const registered = loadCatalogue(dir).get('dns.failed');
  t.equal(registered?.builtin, false);
  t.ok(registered?.validate({ resource_id: 'res_vm_001', reason: 'zone not delegated' }));
  t.notOk(registered?.validate({ resource_id: 'res_vm_001' }), 'its schema requires the reason');
});
