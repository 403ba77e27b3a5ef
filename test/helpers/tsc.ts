// The project's TypeScript 7 compiler binary itself, for tests that compile in a child process: tap
// instruments child node processes, and its loaders break the compiler's node launcher.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../dev/paths.ts';

export const TSC = join(
  dirname(
    createRequire(join(PROJECT_ROOT, 'node_modules', 'typescript', 'package.json')).resolve(
      `@typescript/typescript-${process.platform}-${process.arch}/package.json`,
    ),
  ),
  'lib',
  'tsc',
);
