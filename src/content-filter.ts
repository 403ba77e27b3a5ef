// Content filters: a documented subset of EventBridge-style patterns (docs/content-filter.md) that
// match an event's envelope fields and `data`. A filter is validated and compiled once, when a
// consumer or subscription is set up; matching is then a walk over the compiled tree. Sizes are
// bounded (depth, conditions, string lengths, total JSON size) so a hostile filter cannot make
// matching, or storing it in consumer metadata, expensive.
import type { EventEnvelope } from '../schemas/envelope.ts';
import { GatewayError, type FieldError } from './errors.ts';

/** Envelope fields a filter may name at its top level. */
export const FILTER_FIELDS = ['source', 'type', 'id', 'version', 'timestamp', 'metadata', 'data'] as const;

export const FILTER_LIMITS = {
  /** Nesting of objects, the top level being depth 1. */
  maxDepth: 6,
  /** Conditions (alternatives in leaf arrays) across the whole filter. */
  maxConditions: 64,
  /** Keys across the whole filter. */
  maxKeys: 64,
  maxKeyLength: 128,
  maxStringLength: 256,
  /** The filter as JSON; it is stored in the consumer's metadata. */
  maxJsonBytes: 4096,
  /** Validation stops collecting after this many errors. */
  maxErrors: 20,
} as const;

export interface ContentFilter {
  /** True when the event satisfies every key of the filter. An empty filter matches everything. */
  match(event: EventEnvelope): boolean;
}

type Scalar = string | number | boolean | null;
type NumericOp = '<' | '<=' | '=' | '>=' | '>';

/** One alternative of a leaf; it tests one value (the field, or an element of it when it is an array). */
type Condition =
  | { kind: 'equals'; value: Scalar }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'anything-but'; values: Scalar[]; prefix?: string }
  | { kind: 'exists'; exists: boolean }
  | { kind: 'numeric'; tests: [NumericOp, number][] };

type Node = { kind: 'object'; fields: [string, Node][] } | { kind: 'leaf'; conditions: Condition[] };

const NUMERIC_OPS = new Set<string>(['<', '<=', '=', '>=', '>']);
const MISSING = Symbol('missing');
type Value = unknown | typeof MISSING;

class Validator {
  readonly errors: FieldError[] = [];
  conditions = 0;
  keys = 0;

  fail(pointer: string, message: string): void {
    if (this.errors.length < FILTER_LIMITS.maxErrors) this.errors.push({ pointer: pointer || '/', message });
  }
}

const escapeToken = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates and compiles a filter. `pointer` is where the filter sits in the request body (e.g.
 * `/filter`), so error pointers lead the client straight to the bad part.
 * Throws GW_INVALID_FILTER with every problem found (up to a bound).
 */
export function compileContentFilter(filter: unknown, opts: { pointer?: string } = {}): ContentFilter {
  const base = opts.pointer ?? '';
  const v = new Validator();
  let root: Node | undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(filter);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    v.fail(base, 'must be a JSON object');
  } else if (Buffer.byteLength(json) > FILTER_LIMITS.maxJsonBytes) {
    v.fail(base, `is larger than ${FILTER_LIMITS.maxJsonBytes} bytes as JSON`);
  } else if (!isPlainObject(filter)) {
    v.fail(base, 'must be an object whose keys are envelope fields');
  } else {
    for (const key of Object.keys(filter)) {
      if (!(FILTER_FIELDS as readonly string[]).includes(key)) {
        v.fail(`${base}/${escapeToken(key)}`, `is not an envelope field (one of ${FILTER_FIELDS.join(', ')})`);
      }
    }
    root = compileObject(filter, base, 1, v);
  }
  if (v.errors.length > 0 || !root) {
    throw new GatewayError('GW_INVALID_FILTER', `The content filter is invalid: ${v.errors[0]?.pointer} ${v.errors[0]?.message}`, {
      errors: v.errors,
    });
  }
  const compiled = root;
  return { match: (event) => matchNode(compiled, event as unknown) };
}

function compileObject(obj: Record<string, unknown>, pointer: string, depth: number, v: Validator): Node {
  const fields: [string, Node][] = [];
  for (const [key, value] of Object.entries(obj)) {
    const at = `${pointer}/${escapeToken(key)}`;
    if (++v.keys > FILTER_LIMITS.maxKeys) {
      v.fail(at, `the filter has more than ${FILTER_LIMITS.maxKeys} keys`);
      break;
    }
    if (key.length === 0 || key.length > FILTER_LIMITS.maxKeyLength) {
      v.fail(at, `keys must be 1 to ${FILTER_LIMITS.maxKeyLength} characters`);
      continue;
    }
    if (Array.isArray(value)) {
      fields.push([key, { kind: 'leaf', conditions: compileLeaf(value, at, v) }]);
    } else if (isPlainObject(value)) {
      if (depth >= FILTER_LIMITS.maxDepth) {
        v.fail(at, `nests deeper than ${FILTER_LIMITS.maxDepth} levels`);
        continue;
      }
      if (Object.keys(value).length === 0) {
        v.fail(at, 'must not be an empty object');
        continue;
      }
      fields.push([key, compileObject(value, at, depth + 1, v)]);
    } else {
      v.fail(at, 'must be an array of alternatives (e.g. ["a", {"prefix": "b"}]) or an object of nested fields');
    }
  }
  return { kind: 'object', fields };
}

function compileLeaf(alternatives: unknown[], pointer: string, v: Validator): Condition[] {
  if (alternatives.length === 0) v.fail(pointer, 'must hold at least one alternative');
  const out: Condition[] = [];
  alternatives.forEach((alt, i) => {
    const at = `${pointer}/${i}`;
    if (++v.conditions > FILTER_LIMITS.maxConditions) {
      if (v.conditions === FILTER_LIMITS.maxConditions + 1)
        v.fail(at, `the filter has more than ${FILTER_LIMITS.maxConditions} conditions`);
      return;
    }
    const c = compileCondition(alt, at, v);
    if (c) out.push(c);
  });
  return out;
}

function scalar(value: unknown, pointer: string, v: Validator): value is Scalar {
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return true;
    v.fail(pointer, 'must be a finite number');
    return false;
  }
  if (typeof value === 'string') {
    if (value.length <= FILTER_LIMITS.maxStringLength) return true;
    v.fail(pointer, `strings must be at most ${FILTER_LIMITS.maxStringLength} characters`);
    return false;
  }
  v.fail(pointer, 'must be a string, number, boolean, null or an operator object');
  return false;
}

function prefixOf(value: unknown, pointer: string, v: Validator): string | undefined {
  if (typeof value !== 'string') {
    v.fail(pointer, 'must be a string');
    return undefined;
  }
  if (value.length > FILTER_LIMITS.maxStringLength) {
    v.fail(pointer, `strings must be at most ${FILTER_LIMITS.maxStringLength} characters`);
    return undefined;
  }
  return value;
}

function compileCondition(alt: unknown, pointer: string, v: Validator): Condition | undefined {
  if (!isPlainObject(alt)) {
    return scalar(alt, pointer, v) ? { kind: 'equals', value: alt as Scalar } : undefined;
  }
  const ops = Object.keys(alt);
  if (ops.length !== 1) {
    v.fail(pointer, 'an operator object holds exactly one of prefix, anything-but, exists, numeric');
    return undefined;
  }
  const op = ops[0] as string;
  const arg = alt[op];
  const at = `${pointer}/${escapeToken(op)}`;
  switch (op) {
    case 'prefix': {
      const prefix = prefixOf(arg, at, v);
      return prefix === undefined ? undefined : { kind: 'prefix', prefix };
    }
    case 'exists':
      if (typeof arg !== 'boolean') {
        v.fail(at, 'must be true or false');
        return undefined;
      }
      return { kind: 'exists', exists: arg };
    case 'anything-but': {
      if (isPlainObject(arg)) {
        const keys = Object.keys(arg);
        if (keys.length !== 1 || keys[0] !== 'prefix') {
          v.fail(at, 'an object here must be {"prefix": "..."}');
          return undefined;
        }
        const prefix = prefixOf(arg.prefix, `${at}/prefix`, v);
        return prefix === undefined ? undefined : { kind: 'anything-but', values: [], prefix };
      }
      const list = Array.isArray(arg) ? arg : [arg];
      if (list.length === 0) {
        v.fail(at, 'must name at least one value');
        return undefined;
      }
      // Each listed value costs a comparison, so it counts as a condition.
      v.conditions += list.length - 1;
      if (v.conditions > FILTER_LIMITS.maxConditions) {
        v.fail(at, `the filter has more than ${FILTER_LIMITS.maxConditions} conditions`);
        return undefined;
      }
      const ok = list.every((x, i) => scalar(x, Array.isArray(arg) ? `${at}/${i}` : at, v));
      return ok ? { kind: 'anything-but', values: list as Scalar[] } : undefined;
    }
    case 'numeric': {
      if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
        v.fail(at, 'must be [op, number] or [op, number, op, number], op one of <, <=, =, >=, >');
        return undefined;
      }
      const tests: [NumericOp, number][] = [];
      for (let i = 0; i < arg.length; i += 2) {
        const o = arg[i];
        const n = arg[i + 1];
        if (typeof o !== 'string' || !NUMERIC_OPS.has(o)) {
          v.fail(`${at}/${i}`, 'must be one of <, <=, =, >=, >');
          return undefined;
        }
        if (typeof n !== 'number' || !Number.isFinite(n)) {
          v.fail(`${at}/${i + 1}`, 'must be a finite number');
          return undefined;
        }
        tests.push([o as NumericOp, n]);
      }
      return { kind: 'numeric', tests };
    }
    default:
      v.fail(at, 'is not an operator (prefix, anything-but, exists, numeric)');
      return undefined;
  }
}

// --- matching ---

function matchNode(node: Node, value: Value): boolean {
  if (node.kind === 'leaf') return matchLeaf(node.conditions, value);
  // Descending into an array of objects matches when any element matches (EventBridge flattens arrays).
  if (Array.isArray(value)) return value.some((el) => matchNode(node, el));
  const obj = isPlainObject(value) ? value : undefined;
  for (const [key, child] of node.fields) {
    const fieldValue: Value = obj && Object.hasOwn(obj, key) ? obj[key] : MISSING;
    if (!matchNode(child, fieldValue)) return false;
  }
  return true;
}

function matchLeaf(conditions: Condition[], value: Value): boolean {
  for (const c of conditions) {
    if (c.kind === 'exists') {
      if ((value !== MISSING) === c.exists) return true;
      continue;
    }
    if (value === MISSING) continue;
    if (Array.isArray(value) ? value.some((el) => matchValue(c, el)) : matchValue(c, value)) return true;
  }
  return false;
}

function matchValue(c: Exclude<Condition, { kind: 'exists' }>, value: unknown): boolean {
  switch (c.kind) {
    case 'equals':
      return value === c.value;
    case 'prefix':
      return typeof value === 'string' && value.startsWith(c.prefix);
    case 'anything-but':
      if (c.prefix !== undefined) return typeof value === 'string' && !value.startsWith(c.prefix);
      if (typeof value === 'object' && value !== null) return false;
      return !c.values.includes(value as Scalar);
    case 'numeric':
      return typeof value === 'number' && c.tests.every(([op, n]) => compare(op, value, n));
  }
}

function compare(op: NumericOp, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '=':
      return a === b;
    case '>=':
      return a >= b;
    case '>':
      return a > b;
  }
}
