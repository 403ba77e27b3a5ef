// The error catalogue (schemas/errors.ts) is the one source of what a code answers: the errors the
// handlers throw, the OpenAPI error responses and docs/errors.md (contract-files.test.ts) all
// come from it, and its `retryable` follows one rule.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CODE_LIST, ERROR_CODES, Problem } from '../schemas/errors.ts';
import { GatewayError, toProblem } from '../src/errors.ts';
import { OPENAPI_PATH } from '../scripts/generate-openapi.ts';
import { bodyAjv } from '../src/validation.ts';

const validProblem = bodyAjv.compile(JSON.parse(JSON.stringify(Problem)));

t.test('a GatewayError takes its status and title from the catalogue, and its problem its type', async (t) => {
  for (const code of ERROR_CODE_LIST) {
    const spec = ERROR_CODES[code];
    const err = new GatewayError(code, undefined, { errors: [{ pointer: '/x', message: 'is required', keyword: 'required' }] });
    t.equal(err.statusCode, spec.status, `${code} status`);
    t.equal(err.message, spec.title, `${code} default detail is the title`);
    t.equal(err.retryable, spec.retryable, `${code} retryable`);
    const problem = toProblem(err, '/v1/events', 'req-1');
    t.match(problem, { type: spec.type, title: spec.title, status: spec.status, code, instance: '/v1/events', request_id: 'req-1' });
    t.ok(validProblem(problem), `${code}: the problem matches the Problem schema`);
  }
});

t.test('type URIs are the urn of the code', async (t) => {
  t.equal(ERROR_CODES.GW_NOT_FOUND.type, 'urn:platforma:gateway:problem:not-found');
  t.equal(ERROR_CODES.GW_VALIDATION_FAILED.type, 'urn:platforma:gateway:problem:validation-failed');
  t.equal(new Set(ERROR_CODE_LIST.map((c) => ERROR_CODES[c].type)).size, ERROR_CODE_LIST.length, 'one type per code');
});

t.test('retryable: every 503 and 429, nothing else', async (t) => {
  for (const code of ERROR_CODE_LIST) {
    const { status, retryable } = ERROR_CODES[code];
    t.equal(retryable, status === 503 || status === 429, `${code} (${status})`);
  }
});

t.test('every problem example of openapi.json is the catalogue entry of its code', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: unknown }> }> }> }>
    >;
  };
  let seen = 0;
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(ops)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [code, ex] of Object.entries(response.content?.['application/problem+json']?.examples ?? {})) {
          const spec = ERROR_CODES[code as keyof typeof ERROR_CODES];
          t.ok(spec, `${code} is in the catalogue`);
          t.equal(Number(status), spec.status);
          t.match(ex.value, { type: spec.type, title: spec.title, status: spec.status, code });
          seen++;
        }
      }
    }
  }
  t.ok(seen > 50, `${seen} problem examples checked`);
});
