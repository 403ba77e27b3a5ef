// The catalogue: every type accepts its sample and rejects it without its business keys; operators
// can register more types.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BUILTIN_CATALOGUE } from '../schemas/catalogue.ts';
import { loadCatalogue } from '../src/catalogue.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const DESIGN_TYPES = [
  'order.created',
  'order.validated',
  'order.processing',
  'order.provisioned',
  'order.failed',
  'order.cancelled',
  'resource.created',
  'resource.updated',
  'resource.status_changed',
  'resource.deleted',
  'invoice.generated',
  'invoice.paid',
  'invoice.overdue',
  'usage.recorded',
  'usage.threshold_reached',
  'dns.configured',
];

t.same(Object.keys(BUILTIN_CATALOGUE).sort(), [...DESIGN_TYPES].sort(), "the catalogue is the design's 15 types plus dns.configured");

t.test('every catalogue type: a valid sample is stored, the sample without each required key is refused', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  for (const [type, entry] of Object.entries(BUILTIN_CATALOGUE)) {
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(KEYS.a),
      payload: { type, source: 'test', data: entry.example },
    });
    t.equal(ok.statusCode, 202, `${type}: valid sample accepted`);
    const required = ((entry.data as { required?: string[] }).required ?? []) as string[];
    t.ok(required.length > 0, `${type} requires business keys`);
    for (const key of required) {
      const { [key]: _dropped, ...data } = entry.example;
      const bad = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: { type, source: 'test', data } });
      t.equal(bad.statusCode, 422, `${type} without ${key}: 422`);
      t.match(bad.json().errors, [{ pointer: `/data/${key}`, keyword: 'required' }]);
    }
    const wrongType = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(KEYS.a),
      payload: { type, source: 'test', data: { ...entry.example, [required[0] as string]: { nested: true } } },
    });
    t.equal(wrongType.statusCode, 422, `${type} with a mistyped ${required[0]}: 422`);
  }
  t.test('further data fields are allowed', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth(KEYS.a),
      payload: { type: 'order.created', source: 's', data: { order_id: 'o', anything: [1, 2] } },
    });
    t.equal(res.statusCode, 202);
  });
});

t.test('GET /v1/event-types lists every type with its JSON Schema', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const res = await app.inject({ method: 'GET', url: '/v1/event-types', headers: auth(KEYS.aRead) });
  t.equal(res.statusCode, 200);
  const { types } = res.json() as { types: { type: string; version: string; schema: { required: string[] }; builtin: boolean }[] };
  t.same(types.map((x) => x.type).sort(), [...DESIGN_TYPES].sort());
  const created = types.find((x) => x.type === 'order.created');
  t.equal(created?.version, '1.0');
  t.same(created?.schema.required, ['order_id']);
  t.equal((await app.inject({ method: 'GET', url: '/v1/event-types' })).statusCode, 401);
});

t.test('operators register more types as JSON Schema files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-types-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'dns.failed.json'),
    JSON.stringify({
      type: 'dns.failed',
      version: '2.1',
      description: 'DNS setup failed',
      data: { type: 'object', required: ['resource_id'], properties: { resource_id: { type: 'string' } } },
    }),
  );
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { EVENT_TYPES_DIR: dir });
  const ok = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: { type: 'dns.failed', source: 'dns', data: { resource_id: 'r1' } },
  });
  t.equal(ok.statusCode, 202);
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: { type: 'dns.failed', source: 'dns', data: {} },
  });
  t.equal(bad.statusCode, 422);
  const types = (await app.inject({ method: 'GET', url: '/v1/event-types', headers: auth(KEYS.a) })).json().types as {
    type: string;
    version: string;
    builtin: boolean;
  }[];
  t.match(
    types.find((x) => x.type === 'dns.failed'),
    { version: '2.1', builtin: false },
  );
});

t.test('a bad type file stops the start with a message naming the file', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['bad-json.json', '{nope', /not valid JSON/],
    ['bad-type.json', JSON.stringify({ type: 'Bad Type', data: {} }), /"type" must be domain.action/],
    ['builtin.json', JSON.stringify({ type: 'order.created', data: {} }), /built-in type/],
    ['bad-schema.json', JSON.stringify({ type: 'x.y', data: { type: 'not-a-type' } }), /not a valid JSON Schema/],
  ];
  for (const [file, content, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'gw-types-'));
    writeFileSync(join(dir, file), content);
    t.throws(() => loadCatalogue(dir), message, file);
    t.throws(() => loadCatalogue(dir), { name: 'CatalogueFileError' });
    rmSync(dir, { recursive: true, force: true });
  }
  t.throws(() => loadCatalogue('/nonexistent/dir'), /EVENT_TYPES_DIR/);
});
