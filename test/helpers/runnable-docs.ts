// Runnable documentation: the fenced blocks of README.md, docs/*.md and examples/**.md whose info
// string carries the word `runnable` (```sh runnable, ```html runnable) are run by
// test/docs-runnable.test.ts against a real gateway. The convention is described in
// docs/architecture.md ("Where things go"):
//
// - Shell blocks use $GATEWAY_URL and $KEY (examples/ also $GATEWAY_API_KEY); the test sets them to its
//   gateway and a tenant key.
// - `# → <text>` after a command is what the commands since the previous expectation print.
//   Consecutive `# →` lines are consecutive output lines; a line `#` followed by two or more
//   spaces continues the expectation above it. Matching ignores whitespace, and `...` or `…`
//   stands for anything (ids, times, tokens).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../dev/paths.ts';

export interface DocBlock {
  /** Path relative to the project root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  runnable: boolean;
  body: string;
}

/** The documents whose blocks may be runnable: README.md, docs/*.md, examples/**.md. */
export function documentFiles(): string[] {
  const md = (dir: string, depth: number): string[] =>
    readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((e) => {
        if (e.isDirectory()) return depth > 0 ? md(`${dir}/${e.name}`, depth - 1) : [];
        return e.name.endsWith('.md') ? [`${dir}/${e.name}`] : [];
      });
  return ['README.md', ...md('docs', 0), ...md('examples', 2)];
}

/** Every fenced block of a Markdown text (``` fences; nested fences inside a block are not supported). */
export function fencedBlocks(file: string, text: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] as string); j++) body.push((lines[j] as string).slice(indent));
    const words = (open[3] as string).trim().split(/\s+/).filter(Boolean);
    blocks.push({ file, line: i + 1, lang: open[2] as string, runnable: words.includes('runnable'), body: body.join('\n') });
    i = j;
  }
  return blocks;
}

export interface ShellScript {
  /** The block's commands with an output marker where each expectation stands. */
  script: string;
  /** The expectations, in order; output segment i (before marker i) must match expectations[i]. */
  expectations: { line: number; text: string }[];
}

export const MARKER = '@@docs-runnable-expectation@@';

/** Turns a shell block into a script whose output splits at each `# →` expectation. */
export function shellScript(block: DocBlock): ShellScript {
  const out: string[] = [];
  const expectations: ShellScript['expectations'] = [];
  const lines = block.body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const arrow = /^\s*# → ?(.*)$/.exec(lines[i] as string);
    if (!arrow) {
      out.push(lines[i] as string);
      continue;
    }
    const text = [arrow[1] as string];
    const start = i;
    for (; i + 1 < lines.length; i++) {
      const next = lines[i + 1] as string;
      const more = /^\s*# → ?(.*)$/.exec(next);
      const cont = /^\s*#\s{2,}(.*)$/.exec(next);
      if (more) text.push(`\n${more[1]}`);
      else if (cont) text.push(cont[1] as string);
      else break;
    }
    expectations.push({ line: block.line + 1 + start, text: text.join('') });
    out.push(`printf '\\n%s\\n' '${MARKER}'`);
  }
  return { script: out.join('\n'), expectations };
}

const squash = (s: string) => s.replace(/\s+/g, '');

/** Whether `actual` (one output segment) matches an expectation: whitespace ignored, `...`/`…` = anything. */
export function matchesExpectation(actual: string, expected: string): boolean {
  const parts = squash(expected).split(/\.\.\.|…/);
  const pattern = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*');
  return new RegExp(`^${pattern}$`).test(squash(actual));
}

/** The output segments between markers (the last, after the final marker, is returned too). */
export function outputSegments(stdout: string): string[] {
  return stdout.split(`\n${MARKER}\n`);
}

export function readDoc(file: string): string {
  return readFileSync(join(PROJECT_ROOT, file), 'utf8');
}
