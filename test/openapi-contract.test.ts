// The OpenAPI document as a contract for services that generate clients from it: it is valid
// OpenAPI 3.1, and every operation (whoever adds it) names itself, documents every status it can
// answer with problem+json examples per code, and carries examples that work as real requests.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { pino } from 'pino';
import t from 'tap';
import { ApiKeys, SCOPES, sha256 } from '../src/auth/api-keys.ts';
import { configWith } from '../src/config.ts';
import { ERROR_CODES, type ErrorCode } from '../src/errors.ts';
import { OPENAPI_PATH } from '../scripts/generate-openapi.ts';
import { buildApp } from '../src/app.ts';
import { startNats } from './helpers/nats.ts';

const run = promisify(execFile);
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

interface Media {
  schema: unknown;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  'x-required-scope'?: string;
  'x-accepts-ticket'?: boolean;
  'x-codeSamples'?: { lang: string; label: string; source: string }[];
  parameters?: { name: string; in: string; description?: string; schema: unknown }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, Media> }>;
}

const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, Record<string, unknown>>;
    parameters?: Record<string, NonNullable<Operation['parameters']>[number]>;
  };
};
// Shared parameters (`components.parameters`, e.g. Idempotency-Key) are read through their $ref.
const resolveParameter = (p: NonNullable<Operation['parameters']>[number] & { $ref?: string }) =>
  p.$ref ? (doc.components.parameters?.[p.$ref.replace('#/components/parameters/', '')] ?? p) : p;
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({
    path,
    method,
    op: op.parameters ? { ...op, parameters: op.parameters.map(resolveParameter) } : op,
    name: `${method.toUpperCase()} ${path}`,
  })),
);

// The document's schemas as one ajv registry, so examples are checked against what clients see.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv, ['date-time', 'uri', 'email', 'uuid']);
ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
const validates = (schema: unknown, value: unknown): string | undefined => {
  const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
  const validate = ajv.compile(rewritten);
  return validate(value) ? undefined : ajv.errorsText(validate.errors);
};

t.test('the document is valid OpenAPI 3.1', async (t) => {
  t.match(doc.openapi, /^3\.1\./);
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  t.ok(result.valid, JSON.stringify(result.errors, null, 2));
  t.equal(validator.version, '3.1');
});

t.test('a bearer security scheme is declared and every authenticated operation requires it', async (t) => {
  t.match(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer' });
  for (const { name, op } of operations) {
    if (op['x-required-scope']) {
      // Operations a browser must reach (an EventSource) take a single-use ticket as the alternative.
      t.same(
        op.security?.map((s) => Object.keys(s)),
        op['x-accepts-ticket'] ? [['bearerAuth'], ['ticket']] : [['bearerAuth']],
        `${name} requires bearerAuth`,
      );
      const scope = op['x-required-scope'];
      t.same(op.security?.[0]?.bearerAuth, scope === 'any' ? [] : [scope], `${name} names its scope`);
    } else {
      t.same(op.security, [], `${name} is explicitly unauthenticated`);
    }
  }
});

t.test('every operation has an operationId, a summary, a description and examples', async (t) => {
  const ids = operations.map(({ op }) => op.operationId);
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  for (const { name, op } of operations) {
    t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${name} operationId`);
    t.ok(op.summary?.trim(), `${name} summary`);
    t.ok(op.description?.trim(), `${name} description`);
    t.ok(op.tags?.length, `${name} tag`);
    t.ok(op['x-codeSamples']?.length, `${name} has a curl sample`);
    for (const p of op.parameters ?? []) t.ok(p.description?.trim(), `${name} parameter ${p.name} is described`);
    if (op.requestBody) {
      const media = op.requestBody.content['application/json'];
      const examples = Object.entries(media?.examples ?? {});
      t.ok(examples.length > 0, `${name} has request body examples`);
      for (const [key, ex] of examples)
        t.equal(validates(media?.schema, ex.value), undefined, `${name} request example ${key} matches its schema`);
    }
    const success = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
    t.ok(success.length > 0, `${name} documents a 2xx answer`);
    for (const [status, response] of success) {
      const media = response.content?.['application/json'];
      if (!media) continue;
      t.not(media.example, undefined, `${name} ${status} has an example`);
      t.equal(validates(media.schema, media.example), undefined, `${name} ${status} example matches its schema`);
    }
  }
});

t.test('every operation documents each status it can answer, as problem+json examples per code', async (t) => {
  for (const { name, op } of operations) {
    const responses = op.responses;
    // What the server's own hooks can answer for any operation of this shape.
    const expected: ErrorCode[] = ['GW_INTERNAL', 'GW_SHUTTING_DOWN'];
    if (op['x-required-scope']) expected.push('GW_UNAUTHORIZED');
    if (op['x-required-scope'] && op['x-required-scope'] !== 'any') expected.push('GW_FORBIDDEN_SCOPE');
    if (op.parameters?.length) expected.push('GW_INVALID_REQUEST');
    if (op.requestBody) expected.push('GW_MALFORMED_JSON', 'GW_PAYLOAD_TOO_LARGE', 'GW_UNSUPPORTED_MEDIA_TYPE', 'GW_VALIDATION_FAILED');
    for (const code of expected) {
      const status = String(ERROR_CODES[code].status);
      t.ok(responses[status]?.content?.['application/problem+json']?.examples?.[code], `${name} documents ${status} ${code}`);
    }
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) < 400) continue;
      const media = response.content?.['application/problem+json'];
      t.same(media?.schema, { $ref: '#/components/schemas/Problem' }, `${name} ${status} is a Problem`);
      t.notOk(response.content?.['application/json'], `${name} ${status} is only problem+json`);
      const examples = Object.entries(media?.examples ?? {});
      t.ok(examples.length > 0, `${name} ${status} has an example per code`);
      for (const [code, ex] of examples) {
        t.equal(ERROR_CODES[code as ErrorCode]?.status, Number(status), `${name}: ${code} belongs under ${status}`);
        t.match(ex.value, { code, status: Number(status) }, `${name} ${status} ${code} example`);
        t.equal(validates(media?.schema, ex.value), undefined, `${name} ${status} ${code} example is a valid Problem`);
        t.ok(response.description.includes(code), `${name} ${status} description names ${code}`);
      }
      if (status === '503') t.ok(response.headers?.['Retry-After'], `${name} 503 documents Retry-After`);
    }
  }
});

t.test('the examples are requests that work against a live gateway', async (t) => {
  // The examples are written for the design's tenant, ten_xyz789; a key of that tenant with every scope.
  const key = 'contract-example-key';
  const nats = await startNats(t);
  // The webhook examples name hooks.example.com, which resolves nowhere here: allowed by name, it is not looked up.
  const app = await buildApp(configWith({ NATS_URL: [nats.url], PUBLISH_TIMEOUT_MS: 2000, WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com' }), {
    apiKeys: ApiKeys.fromDocument({ keys: [{ tenant_id: 'ten_xyz789', key_sha256: sha256(key).toString('hex'), scopes: [...SCOPES] }] }),
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  t.test('/docs (swagger-ui) browses this very document, curl samples included', async (t) => {
    const page = await fetch(`${url}/docs/`);
    t.equal(page.status, 200);
    t.match(await page.text(), /swagger-ui/i);
    const served = await fetch(`${url}/docs/json`);
    t.equal(served.status, 200);
    // The same document, with a server URL relative to /docs/json (test/contract-documents.test.ts).
    const { servers, ...rest } = (await served.json()) as Record<string, unknown>;
    const { servers: _generated, ...expected } = doc as Record<string, unknown>;
    t.same(rest, expected);
    t.match(servers, [{ url: '..' }]);
  });

  t.test('every request body example is accepted as it stands', async (t) => {
    for (const { path, method, op, name } of operations) {
      if (!op.requestBody || path.includes('{')) continue;
      for (const [label, ex] of Object.entries(op.requestBody.content['application/json']?.examples ?? {})) {
        const res = await fetch(url + path, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(ex.value),
        });
        const body = await res.text();
        t.ok(res.status >= 200 && res.status < 300, `${name} example ${label}: ${res.status} ${body}`);
        // A batch answers 200 even when events failed; an example must store every event.
        const parsed = res.ok && body ? (JSON.parse(body) as { failed?: unknown }) : undefined;
        if (typeof parsed?.failed === 'number') t.equal(parsed.failed, 0, `${name} example ${label} stored every event`);
      }
    }
  });

  t.test('every curl sample works when pasted into a shell', async (t) => {
    // Creates, then other writes, then reads, deletes last: each sample finds what the ones before it made.
    const rank: Record<string, number> = { put: 0, post: 1, get: 2, delete: 3 };
    const ordered = [...operations].sort((a, b) => (rank[a.method] ?? 2) - (rank[b.method] ?? 2));
    for (const { op, name } of ordered) {
      for (const sample of op['x-codeSamples'] ?? []) {
        t.equal(sample.lang, 'Shell');
        // A stream (curl -N) runs until stopped: read it for a second, then look at its status.
        const streams = Object.values(op.responses).some((r) => r.content?.['text/event-stream']);
        const limit = streams ? ' --max-time 1 || true' : '';
        const { stdout } = await run('sh', ['-c', `${sample.source} -o /dev/null -w '%{http_code}'${limit}`], {
          env: { PATH: process.env.PATH, GATEWAY_URL: url, GATEWAY_API_KEY: key },
          timeout: 15_000,
        });
        t.match(stdout, /^2\d\d$/, `${name} ${sample.label} answered ${stdout}`);
      }
    }
  });
});
