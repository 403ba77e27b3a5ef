// JSON Schema validation, compiled once at start. Request bodies are validated strictly (no type
// coercion, no silently removed fields); query strings and path parameters are coerced, since
// every value there arrives as a string.
import type { FastifySchemaCompiler } from 'fastify';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { FieldError } from './errors.ts';

// ajv-formats is CommonJS with a default export; under ESM it arrives wrapped.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

const common = { allErrors: true, strict: false, allowUnionTypes: true } as const;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes: coerce ? 'array' : false, useDefaults: coerce, removeAdditional: false });
  addFormats(ajv, ['date-time', 'uri', 'email', 'uuid']);
  return ajv;
}

export const bodyAjv = makeAjv(false);
export const paramAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : paramAjv;
  // Node lowercases incoming header names; fastify only normalises header schemas for its own compiler.
  const compiled = httpPart === 'headers' ? lowerCaseProperties(schema as Record<string, unknown>) : (schema as object);
  return ajv.compile(compiled) as ReturnType<FastifySchemaCompiler<unknown>>;
};

function lowerCaseProperties(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = schema.properties as Record<string, unknown> | undefined;
  if (!properties) return schema;
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k.toLowerCase(), v])),
    ...(Array.isArray(schema.required) ? { required: schema.required.map((r: string) => r.toLowerCase()) } : {}),
  };
}

/** Ajv errors as field errors with JSON pointers; `prefix` is prepended to every pointer. */
export function fieldErrors(errors: ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  if (!errors) return [];
  return errors.map((e) => {
    let pointer = prefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      pointer += `/${escapePointer(String(e.params.missingProperty))}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${escapePointer(String(e.params.additionalProperty))}`;
      message = 'is not allowed';
    }
    return { pointer: pointer || '/', message, keyword: e.keyword };
  });
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export type { ValidateFunction };
