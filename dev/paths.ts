// Where the repository's own files are, for the dev tooling, scripts, tests and benchmarks. The
// gateway itself (src/, routes/, schemas/) never reads a file of the repository at runtime.
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
