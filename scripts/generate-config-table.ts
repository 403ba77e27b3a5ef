// Renders the README's configuration table from SETTINGS (npm run generate:docs); a test fails
// when the README's copy is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/bus/nats-server-binary.ts';
import { SETTINGS } from '../src/config.ts';

export const README_PATH = join(PROJECT_ROOT, 'README.md');
const START = '<!-- config-table -->';
const END = '<!-- /config-table -->';

export function renderConfigTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, s]) => {
    const def = s.default === undefined ? '(unset)' : `\`${s.default}\``;
    return `| \`${name}\` | ${def} | ${s.doc.replaceAll('|', '\\|')} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export function renderReadme(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${renderConfigTable()}\n${readme.slice(b)}`;
}

if (import.meta.main) {
  writeFileSync(README_PATH, renderReadme(readFileSync(README_PATH, 'utf8')));
  console.log(`wrote the configuration table into ${README_PATH}`);
}
