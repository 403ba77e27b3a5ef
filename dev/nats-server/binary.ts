// Finds a nats-server binary of 2.10 or newer: NATS_SERVER_BIN, then PATH, then the project's own
// cache, and as a last resort fetches Debian's current package (the `sid` suite) into that cache
// with a private apt configuration, touching nothing of the system's apt setup.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../paths.ts';

const run = promisify(execFile);

export const MIN_VERSION: [number, number] = [2, 10];
export const CACHE_DIR = join(PROJECT_ROOT, '.cache', 'nats-server');
const cachedBin = (cacheDir: string) => join(cacheDir, 'root', 'usr', 'sbin', 'nats-server');

export const INSTALL_HINT =
  'Install nats-server 2.10 or newer (https://docs.nats.io/running-a-nats-service/introduction/installation), ' +
  'then put it on PATH or set NATS_SERVER_BIN to its path; or set NATS_URL to use an existing NATS server.';

export class NatsServerNotFound extends Error {
  override name = 'NatsServerNotFound';
}

/** `[major, minor, patch]` of a binary, or undefined when it does not run. */
export async function natsServerVersion(bin: string): Promise<[number, number, number] | undefined> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 10_000 });
    const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(stdout);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  } catch {
    return undefined;
  }
}

function recentEnough(v: [number, number, number] | undefined): boolean {
  return v !== undefined && (v[0] > MIN_VERSION[0] || (v[0] === MIN_VERSION[0] && v[1] >= MIN_VERSION[1]));
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

let pending: Promise<string> | undefined;

/** The path of a usable nats-server; fetches one at most once per process. */
export function findNatsServer(explicit = process.env.NATS_SERVER_BIN, log: (msg: string) => void = () => {}): Promise<string> {
  pending ??= locateNatsServer(explicit, log).finally(() => {
    pending = undefined;
  });
  return pending;
}

/** The search itself, uncached; `cacheDir` is where a fetched binary lives. */
export async function locateNatsServer(explicit: string | undefined, log: (msg: string) => void, cacheDir = CACHE_DIR): Promise<string> {
  const rejected: string[] = [];
  const cached = cachedBin(cacheDir);
  for (const candidate of [explicit, onPath('nats-server'), cached]) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = await natsServerVersion(candidate);
    if (recentEnough(version)) return candidate;
    rejected.push(`${candidate} (${version ? version.join('.') : 'does not run'})`);
  }
  if (rejected.length > 0) log(`nats-server too old or unusable: ${rejected.join(', ')}; fetching a current one`);
  try {
    await fetchFromDebian(log, cacheDir);
  } catch (err) {
    throw new NatsServerNotFound(
      `No nats-server >= ${MIN_VERSION.join('.')} found and fetching one failed: ${(err as Error).message}\n${INSTALL_HINT}`,
    );
  }
  const version = await natsServerVersion(cached);
  if (!recentEnough(version)) throw new NatsServerNotFound(`The fetched nats-server does not run.\n${INSTALL_HINT}`);
  return cached;
}

async function fetchFromDebian(log: (msg: string) => void, cacheDir: string): Promise<void> {
  // A private working folder per fetch, renamed into place at the end, so concurrent fetches
  // (parallel test files) never share apt's lock files or see a half-extracted binary.
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    for (const dir of ['lists/partial', 'cache/archives/partial', 'debs']) mkdirSync(join(work, dir), { recursive: true });
    const sources = join(work, 'sources.list');
    writeFileSync(sources, 'deb http://deb.debian.org/debian sid main\n');
    const opts = [
      '-q',
      '-o',
      `Dir::Etc::SourceList=${sources}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      `Dir::State::Lists=${join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${join(work, 'cache')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
    log('fetching nats-server from Debian (sid) into .cache/nats-server');
    await run('apt-get', [...opts, 'update'], { timeout: 300_000 });
    const debs = join(work, 'debs');
    await run('apt-get', [...opts, 'download', 'nats-server'], { cwd: debs, timeout: 300_000 });
    const deb = readdirSync(debs).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no nats-server package');
    await run('dpkg', ['-x', join(debs, deb), join(work, 'root')], { timeout: 120_000 });
    try {
      renameSync(join(work, 'root'), join(cacheDir, 'root'));
    } catch (err) {
      // Another fetch finished first; its binary is as good as ours.
      if (!existsSync(cachedBin(cacheDir))) throw err;
    }
    log(`nats-server ready at ${cachedBin(cacheDir)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
