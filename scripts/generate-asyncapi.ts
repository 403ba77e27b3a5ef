// Writes asyncapi/asyncapi.json, the AsyncAPI 3.0 description of the WebSocket protocol built by
// schemas/asyncapi.ts (npm run generate:asyncapi). A test fails when the committed file is stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { buildAsyncApiDocument } from '../schemas/asyncapi.ts';

export { buildAsyncApiDocument };

export const ASYNCAPI_PATH = join(PROJECT_ROOT, 'asyncapi', 'asyncapi.json');

export function renderAsyncApi(): string {
  return `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  mkdirSync(dirname(ASYNCAPI_PATH), { recursive: true });
  writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  console.log(`wrote ${ASYNCAPI_PATH}`);
}
