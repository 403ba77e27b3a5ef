// Writes openapi/openapi.json from the TypeBox schemas (npm run generate:openapi): the same
// document the gateway builds in-process at start (src/plugins/contract.ts) and serves.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { buildOpenApiDocument } from '../schemas/openapi.ts';

/** The committed copy, for clients, docs and reviewers; the gateway does not read it. */
export const OPENAPI_PATH = join(PROJECT_ROOT, 'openapi', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
