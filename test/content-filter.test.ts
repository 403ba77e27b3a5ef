import t, { type Test } from 'tap';
import type { EventEnvelope } from '../schemas/envelope.ts';
import { compileContentFilter, FILTER_LIMITS } from '../src/content-filter.ts';
import { GatewayError } from '../src/errors.ts';

function event(data: Record<string, unknown>, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: 'evt_1',
    type: 'invoice.paid',
    version: '1.0',
    tenant_id: 'ten_a',
    timestamp: '2026-03-15T10:05:22Z',
    source: 'billing-service',
    data,
    metadata: { correlation_id: 'req_1' },
    ...overrides,
  };
}

const matches = (filter: unknown, e: EventEnvelope) => compileContentFilter(filter).match(e);

function invalid(t: Test, filter: unknown, pointer: string, opts: { prefix?: string } = {}) {
  try {
    compileContentFilter(filter, opts.prefix === undefined ? {} : { pointer: opts.prefix });
    t.fail(`expected ${JSON.stringify(filter)} to be rejected`);
  } catch (err) {
    t.ok(err instanceof GatewayError, 'a GatewayError');
    const gw = err as GatewayError;
    t.equal(gw.code, 'GW_INVALID_FILTER');
    t.equal(gw.statusCode, 422);
    t.ok(
      gw.errors?.some((e) => e.pointer === pointer),
      `an error points at ${pointer}: ${JSON.stringify(gw.errors)}`,
    );
  }
}

t.test('an empty filter matches every event', async (t) => {
  t.ok(matches({}, event({})));
});

t.test('exact values match strings, numbers, booleans and null', async (t) => {
  const e = event({ status: 'paid', amount: 120, final: true, note: null });
  t.ok(matches({ data: { status: ['paid'] } }, e));
  t.notOk(matches({ data: { status: ['open'] } }, e));
  t.ok(matches({ data: { amount: [120] } }, e));
  t.notOk(matches({ data: { amount: ['120'] } }, e), 'a number does not equal its string');
  t.ok(matches({ data: { final: [true] } }, e));
  t.notOk(matches({ data: { final: [false] } }, e));
  t.ok(matches({ data: { note: [null] } }, e));
  t.notOk(matches({ data: { missing: [null] } }, e), 'null does not match an absent field');
  t.ok(matches({ source: ['billing-service'], type: ['invoice.paid'] }, e), 'envelope fields');
  t.ok(matches({ metadata: { correlation_id: ['req_1'] } }, e));
});

t.test('alternatives are OR, keys are AND', async (t) => {
  const e = event({ status: 'paid', currency: 'EUR' });
  t.ok(matches({ data: { status: ['open', 'paid'] } }, e));
  t.ok(matches({ data: { status: ['paid'], currency: ['EUR'] } }, e));
  t.notOk(matches({ data: { status: ['paid'], currency: ['USD'] } }, e));
  t.notOk(matches({ source: ['other'], data: { status: ['paid'] } }, e));
});

t.test('prefix', async (t) => {
  const e = event({ region: 'eu-west-1', count: 3 });
  t.ok(matches({ data: { region: [{ prefix: 'eu-' }] } }, e));
  t.notOk(matches({ data: { region: [{ prefix: 'us-' }] } }, e));
  t.notOk(matches({ data: { count: [{ prefix: '3' }] } }, e), 'prefix only matches strings');
});

t.test('anything-but with a value, a list and a prefix', async (t) => {
  const e = event({ currency: 'EUR', region: 'eu-west-1', amount: 5 });
  t.ok(matches({ data: { currency: [{ 'anything-but': 'USD' }] } }, e));
  t.notOk(matches({ data: { currency: [{ 'anything-but': 'EUR' }] } }, e));
  t.notOk(matches({ data: { currency: [{ 'anything-but': ['USD', 'EUR'] }] } }, e));
  t.ok(matches({ data: { amount: [{ 'anything-but': [1, 2] }] } }, e));
  t.notOk(matches({ data: { amount: [{ 'anything-but': [5] }] } }, e));
  t.ok(matches({ data: { region: [{ 'anything-but': { prefix: 'us-' } }] } }, e));
  t.notOk(matches({ data: { region: [{ 'anything-but': { prefix: 'eu-' } }] } }, e));
  t.notOk(matches({ data: { absent: [{ 'anything-but': 'x' }] } }, e), 'an absent field matches no anything-but');
});

t.test('exists', async (t) => {
  const e = event({ order_id: 'ord_1', note: null });
  t.ok(matches({ data: { order_id: [{ exists: true }] } }, e));
  t.notOk(matches({ data: { order_id: [{ exists: false }] } }, e));
  t.ok(matches({ data: { refund: [{ exists: false }] } }, e));
  t.notOk(matches({ data: { refund: [{ exists: true }] } }, e));
  t.ok(matches({ data: { note: [{ exists: true }] } }, e), 'a null field exists');
  t.ok(matches({ metadata: { trace_id: [{ exists: false }] } }, e));
  t.ok(matches({ data: { deep: { deeper: [{ exists: false }] } } }, e), 'absent parents: the field is absent');
});

t.test('numeric comparisons and ranges', async (t) => {
  const e = event({ amount: 150, small: 0.5 });
  t.ok(matches({ data: { amount: [{ numeric: ['>', 100] }] } }, e));
  t.notOk(matches({ data: { amount: [{ numeric: ['<', 100] }] } }, e));
  t.ok(matches({ data: { amount: [{ numeric: ['>=', 150] }] } }, e));
  t.ok(matches({ data: { amount: [{ numeric: ['<=', 150] }] } }, e));
  t.ok(matches({ data: { amount: [{ numeric: ['=', 150] }] } }, e));
  t.ok(matches({ data: { amount: [{ numeric: ['>', 100, '<=', 200] }] } }, e));
  t.notOk(matches({ data: { amount: [{ numeric: ['>', 0, '<=', 5] }] } }, e));
  t.ok(matches({ data: { small: [{ numeric: ['>', 0, '<=', 5] }] } }, e));
  t.notOk(matches({ source: [{ numeric: ['>', 0] }] }, e), 'numeric only matches numbers');
});

t.test('arrays in the event match when any element does', async (t) => {
  const e = event({
    tags: ['a', 'b'],
    resources: [
      { id: 'res_1', status: 'running', cpu: 2 },
      { id: 'res_2', status: 'stopped', cpu: 8 },
    ],
  });
  t.ok(matches({ data: { tags: ['b'] } }, e));
  t.notOk(matches({ data: { tags: ['c'] } }, e));
  t.ok(matches({ data: { resources: { status: ['stopped'] } } }, e));
  t.ok(matches({ data: { resources: { cpu: [{ numeric: ['>', 4] }] } } }, e));
  t.notOk(matches({ data: { resources: { status: ['deleted'] } } }, e));
});

t.test('a nested pattern does not match a scalar where it expects an object', async (t) => {
  t.notOk(matches({ data: { order: { id: ['x'] } } }, event({ order: 'x' })));
  t.ok(matches({ data: { order: { id: ['x'] } } }, event({ order: { id: 'x' } })));
});

t.test('validation errors point into the filter', async (t) => {
  invalid(t, 'not an object', '/');
  invalid(t, [], '/');
  invalid(t, null, '/');
  invalid(t, { tenant_id: ['ten_b'] }, '/tenant_id');
  invalid(t, { data: 'x' }, '/data');
  invalid(t, { data: { a: 'x' } }, '/data/a');
  invalid(t, { data: { a: [] } }, '/data/a');
  invalid(t, { data: { a: {} } }, '/data/a');
  invalid(t, { data: { a: [{ prefix: 1 }] } }, '/data/a/0/prefix');
  invalid(t, { data: { a: ['ok', { wildcard: 'x*' }] } }, '/data/a/1/wildcard');
  invalid(t, { data: { a: [{ prefix: 'a', exists: true }] } }, '/data/a/0');
  invalid(t, { data: { a: [{ exists: 'yes' }] } }, '/data/a/0/exists');
  invalid(t, { data: { a: [{ numeric: ['>'] }] } }, '/data/a/0/numeric');
  invalid(t, { data: { a: [{ numeric: ['~', 1] }] } }, '/data/a/0/numeric/0');
  invalid(t, { data: { a: [{ numeric: ['>', '1'] }] } }, '/data/a/0/numeric/1');
  invalid(t, { data: { a: [{ 'anything-but': [] }] } }, '/data/a/0/anything-but');
  invalid(t, { data: { a: [{ 'anything-but': { suffix: 'x' } }] } }, '/data/a/0/anything-but');
  invalid(t, { data: { a: [{ 'anything-but': [{ nested: 1 }] }] } }, '/data/a/0/anything-but/0');
  invalid(t, { data: { a: [[1]] } }, '/data/a/0');
  invalid(t, { data: { 'x/y~z': [{ bad: 1 }] } }, '/data/x~1y~0z/0/bad');
  invalid(t, { data: { a: [{ prefix: 1 }] } }, '/filter/data/a/0/prefix', { prefix: '/filter' });
});

t.test('several problems are reported at once', async (t) => {
  try {
    compileContentFilter({ bogus: [1], data: { a: [{ exists: 1 }], b: 'x' } });
    t.fail('expected a rejection');
  } catch (err) {
    const pointers = (err as GatewayError).errors?.map((e) => e.pointer).sort();
    t.same(pointers, ['/bogus', '/data/a/0/exists', '/data/b']);
  }
});

t.test('hostile sizes are refused before any matching', async (t) => {
  let deep: Record<string, unknown> = { x: ['v'] };
  for (let i = 0; i < FILTER_LIMITS.maxDepth + 2; i++) deep = { n: deep };
  invalid(t, { data: deep }, '/data/n/n/n/n/n');

  const wide: Record<string, unknown> = {};
  for (let i = 0; i < FILTER_LIMITS.maxKeys + 5; i++) wide[`k${i}`] = [i];
  invalid(t, { data: wide }, `/data/k${FILTER_LIMITS.maxKeys - 1}`);

  const many = Array.from({ length: FILTER_LIMITS.maxConditions + 1 }, (_, i) => i);
  invalid(t, { data: { a: many } }, `/data/a/${FILTER_LIMITS.maxConditions}`);

  const manyButs = Array.from({ length: FILTER_LIMITS.maxConditions + 1 }, (_, i) => i);
  try {
    compileContentFilter({ data: { a: [{ 'anything-but': manyButs }] } });
    t.fail('anything-but lists count towards the condition limit');
  } catch (err) {
    t.equal((err as GatewayError).code, 'GW_INVALID_FILTER');
  }

  invalid(t, { data: { a: ['x'.repeat(FILTER_LIMITS.maxStringLength + 1)] } }, '/data/a/0');
  invalid(t, { data: { ['k'.repeat(FILTER_LIMITS.maxKeyLength + 1)]: [1] } }, `/data/${'k'.repeat(FILTER_LIMITS.maxKeyLength + 1)}`);
  const big: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) big[`key_${i}`] = ['y'.repeat(200)];
  invalid(t, { data: big }, '/');

  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  invalid(t, cyclic, '/');
});

t.test('the number of errors collected is bounded', async (t) => {
  const bad: Record<string, unknown> = {};
  for (let i = 0; i < 60; i++) bad[`k${i}`] = 'x';
  try {
    compileContentFilter({ data: bad });
    t.fail('expected a rejection');
  } catch (err) {
    t.equal((err as GatewayError).errors?.length, FILTER_LIMITS.maxErrors);
  }
});

t.test('matching a maximal filter against a large event stays fast', async (t) => {
  const alternatives = Array.from({ length: FILTER_LIMITS.maxConditions - 1 }, (_, i) => ({ prefix: `p${i}` }));
  const filter = { data: { items: { a: { b: { c: { d: alternatives } } } } } };
  const items = Array.from({ length: 5000 }, (_, i) => ({ a: { b: { c: { d: `q${i}` } } } }));
  const m = compileContentFilter(filter);
  const started = performance.now();
  t.notOk(m.match(event({ items })));
  const ms = performance.now() - started;
  t.ok(ms < 1000, `matched 5000 elements x 63 alternatives in ${ms.toFixed(1)} ms`);
});
