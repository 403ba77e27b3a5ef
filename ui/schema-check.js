// A small JSON Schema (draft 2020-12 subset) validator and example maker for the catalogue's `data`
// schemas, so the test-event form refuses a bad payload before it is sent. It covers the keywords
// catalogue schemas use (type, properties, required, additionalProperties, patternProperties,
// items, lengths, sizes, bounds, pattern, enum, const, format date-time/date/email/uri, allOf /
// anyOf / oneOf / not); others are ignored here, and the gateway validates every publish anyway.

const FORMATS = {
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  email: (v) => /^[^\s@]+@[^\s@]+$/.test(v),
  uri: (v) => {
    try {
      return Boolean(new URL(v).protocol);
    } catch {
      return false;
    }
  },
};

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function hasType(v, t) {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

function escapePointer(key) {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The errors of `value` against `schema`, each `{ pointer, message }` (empty: valid). */
export function validate(schema, value, pointer = '') {
  const errors = [];
  const fail = (message) => errors.push({ pointer: pointer || '/', message });
  if (schema === true || schema === undefined) return errors;
  if (schema === false) {
    fail('is not allowed');
    return errors;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) {
      fail(`must be ${types.join(' or ')}`);
      return errors;
    }
  }
  if (schema.const !== undefined && !equal(schema.const, value)) fail(`must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.some((e) => equal(e, value)))
    fail(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);

  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) fail(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength) fail(`must have at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) fail(`must match ${schema.pattern}`);
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) fail(`must be a ${schema.format}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be ≤ ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`must be > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`must be < ${schema.exclusiveMaximum}`);
    if (schema.multipleOf !== undefined && !Number.isInteger(value / schema.multipleOf)) fail(`must be a multiple of ${schema.multipleOf}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`must have at most ${schema.maxItems} items`);
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail('must not repeat items');
    if (schema.items !== undefined && !Array.isArray(schema.items)) {
      value.forEach((item, i) => {
        errors.push(...validate(schema.items, item, `${pointer}/${i}`));
      });
    }
  }
  if (typeOf(value) === 'object') {
    const keys = Object.keys(value);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) fail(`must have at least ${schema.minProperties} fields`);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) fail(`must have at most ${schema.maxProperties} fields`);
    for (const name of schema.required ?? []) {
      if (!(name in value)) errors.push({ pointer: `${pointer}/${escapePointer(name)}`, message: 'is required' });
    }
    const props = schema.properties ?? {};
    const patterns = Object.entries(schema.patternProperties ?? {}).map(([p, s]) => [new RegExp(p, 'u'), s]);
    for (const key of keys) {
      const at = `${pointer}/${escapePointer(key)}`;
      let known = false;
      if (Object.hasOwn(props, key)) {
        known = true;
        errors.push(...validate(props[key], value[key], at));
      }
      for (const [re, sub] of patterns) {
        if (re.test(key)) {
          known = true;
          errors.push(...validate(sub, value[key], at));
        }
      }
      if (!known && schema.additionalProperties !== undefined) {
        if (schema.additionalProperties === false) errors.push({ pointer: at, message: 'is not an allowed field' });
        else errors.push(...validate(schema.additionalProperties, value[key], at));
      }
    }
  }
  for (const sub of schema.allOf ?? []) errors.push(...validate(sub, value, pointer));
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(sub, value, pointer).length === 0)) fail('must match one of the allowed shapes');
  if (schema.oneOf && schema.oneOf.filter((sub) => validate(sub, value, pointer).length === 0).length !== 1)
    fail('must match exactly one of the allowed shapes');
  if (schema.not && validate(schema.not, value, pointer).length === 0) fail('must not match the excluded shape');
  return errors;
}

/** A plausible value for `schema`: its examples, default, const or enum first, else built from its keywords. */
export function exampleOf(schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 8) return null;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.anyOf?.length) return exampleOf(schema.anyOf[0], depth + 1);
  if (schema.oneOf?.length) return exampleOf(schema.oneOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type ?? (schema.properties ? 'object' : undefined)) {
    case 'object': {
      const out = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) out[key] = exampleOf(sub, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => exampleOf(schema.items, depth + 1));
    case 'string':
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'date') return new Date().toISOString().slice(0, 10);
      return (schema.minLength ?? 0) <= 7 && (schema.maxLength ?? 64) >= 7 ? 'example' : 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
    case 'boolean':
      return false;
    default:
      return null;
  }
}
