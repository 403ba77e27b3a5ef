// Headless Chromium for browser tests: Debian's `chromium` package (scripts/ensure-chromium.sh
// installs it before `npm test` when it runs as root), found once; a test without it skips with
// the reason. launchBrowser drives it with playwright-core in a fresh profile removed at teardown;
// axeScan runs axe-core on a page.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../dev/paths.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Flags for a quiet, sandbox-free headless Chromium in CI containers (no network beyond the test's). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let found: string | null | undefined;

/** The Chromium binary (CHROMIUM_PATH, Debian's /usr/bin/chromium, or one on PATH), or undefined. */
export function findChromium(): string | undefined {
  if (found !== undefined) return found ?? undefined;
  found = null;
  for (const bin of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!bin) continue;
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore', timeout: 20_000 });
      found = bin;
      break;
    } catch {}
  }
  return found ?? undefined;
}

/** `false` when Chromium is there, else why browser tests skip (for tap's `skip`). */
export function chromiumMissing(): string | false {
  return findChromium()
    ? false
    : "no Chromium: install Debian's chromium package (scripts/ensure-chromium.sh does, as root) or set CHROMIUM_PATH";
}

/** A Chromium driven by playwright-core, in a fresh user-data-dir; closed and removed at teardown. */
export async function launchBrowser(t: Teardown, opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no Chromium (check chromiumMissing() first)');
  const profile = mkdtempSync(join(tmpdir(), 'gw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    timeout: 60_000,
  });
  t.teardown(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** A directory for a test's artefacts (screenshots): test-output/<name>/, which git ignores. */
export function testOutputDir(name: string): string {
  const dir = join(PROJECT_ROOT, 'test-output', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

let axeSource: string | undefined;

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export async function axeScan(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(join(PROJECT_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, not as a <script>: the page's CSP rightly refuses inline scripts.
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(axeSource);
  const violations = await page.evaluate<AxeViolation[]>("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)");
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}
