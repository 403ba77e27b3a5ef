// The runtime event catalogue: the built-in types plus any the operator registers as JSON Schema
// files in EVENT_TYPES_DIR. Each type's `data` validator is compiled once, here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { EVENT_TYPE_PATTERN, VERSION_PATTERN } from '../schemas/envelope.ts';
import { bodyAjv, type ValidateFunction } from './validation.ts';

export interface CatalogueType {
  type: string;
  version: string;
  major: number;
  description: string;
  schema: Record<string, unknown>;
  validate: ValidateFunction;
  builtin: boolean;
}

export class Catalogue {
  readonly types = new Map<string, CatalogueType>();

  add(type: string, entry: { version: string; description: string; data: object }, builtin: boolean): void {
    // Strip TypeBox's symbol keys so the schema is plain JSON for the API and for Ajv.
    const schema = JSON.parse(JSON.stringify(entry.data)) as Record<string, unknown>;
    this.types.set(type, {
      type,
      version: entry.version,
      major: Number(entry.version.split('.')[0]),
      description: entry.description,
      schema,
      validate: bodyAjv.compile(schema),
      builtin,
    });
  }

  get(type: string): CatalogueType | undefined {
    return this.types.get(type);
  }
}

export class CatalogueFileError extends Error {
  override name = 'CatalogueFileError';
}

/**
 * Operator types: one `*.json` file a type, shaped
 * `{"type": "dns.failed", "version": "1.0", "description": "...", "data": {<JSON Schema>}}`.
 */
export function loadCatalogue(eventTypesDir: string | undefined): Catalogue {
  const catalogue = new Catalogue();
  for (const [type, entry] of Object.entries(BUILTIN_CATALOGUE)) catalogue.add(type, entry, true);
  if (!eventTypesDir) return catalogue;

  let files: string[];
  try {
    files = readdirSync(eventTypesDir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new CatalogueFileError(`EVENT_TYPES_DIR ${eventTypesDir}: ${(err as Error).message}`);
  }
  for (const file of files) {
    const path = join(eventTypesDir, file);
    const fail = (why: string): never => {
      throw new CatalogueFileError(`${path}: ${why}`);
    };
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      return fail(`not valid JSON (${(err as Error).message})`);
    }
    const { type, version = '1.0', description = '', data } = doc;
    if (typeof type !== 'string' || !new RegExp(EVENT_TYPE_PATTERN).test(type)) fail('"type" must be domain.action in lower snake case');
    if (typeof version !== 'string' || !new RegExp(VERSION_PATTERN).test(version)) fail('"version" must be MAJOR.MINOR');
    if (typeof description !== 'string') fail('"description" must be a string');
    if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('"data" must be a JSON Schema object');
    if (catalogue.get(type as string)?.builtin) fail(`"${type}" is a built-in type and cannot be redefined`);
    try {
      catalogue.add(type as string, { version: version as string, description: description as string, data: data as object }, false);
    } catch (err) {
      fail(`"data" is not a valid JSON Schema (${(err as Error).message})`);
    }
  }
  return catalogue;
}
