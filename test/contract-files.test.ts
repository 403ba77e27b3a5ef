// Generated, committed files stay in step with their sources: a stale one fails here.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERRORS_DOC_PATH, README_PATH, renderErrorsDoc, renderReadme } from '../scripts/generate-docs.ts';
import { OPENAPI_PATH, renderOpenApi } from '../scripts/generate-openapi.ts';
import { startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

t.test('openapi/openapi.json is what the TypeBox schemas generate (run `npm run generate`)', async (t) => {
  t.equal(readFileSync(OPENAPI_PATH, 'utf8'), renderOpenApi());
});

t.test("the README's configuration table is what SETTINGS generates (run `npm run generate:docs`)", async (t) => {
  const readme = readFileSync(README_PATH, 'utf8');
  t.equal(readme, renderReadme(readme));
});

t.test('docs/errors.md lists every error code (run `npm run generate:docs`)', async (t) => {
  t.equal(readFileSync(ERRORS_DOC_PATH, 'utf8'), renderErrorsDoc());
});

t.test('the document is served at /openapi.json and browsable at /docs', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(doc.statusCode, 200);
  t.same(doc.json(), JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger-ui/i);
});

t.test('every operation of the document is mounted', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      t.ok(
        app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }),
        `${method.toUpperCase()} ${path} (${url})`,
      );
    }
  }
});
