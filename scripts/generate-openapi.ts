// Writes openapi/openapi.json from the TypeBox schemas (npm run generate:openapi).
import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../schemas/openapi.ts';
import { OPENAPI_PATH } from '../src/server.ts';

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
