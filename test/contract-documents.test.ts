// The contract documents as served and as tools read them: the AsyncAPI document passes
// @asyncapi/parser and is served at /asyncapi.json; Swagger UI at /docs gets a relative server URL
// (so "Try it out" reaches the gateway behind any host, port or path prefix); and a normal start
// logs no warning.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { ASYNCAPI_PATH } from '../scripts/generate-asyncapi.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';

interface Diagnostic {
  code: string | number;
  message: string;
  severity: number;
  path: (string | number)[];
}
interface AsyncApiParser {
  parse(text: string): Promise<{ document?: unknown; diagnostics: Diagnostic[] }>;
}

/**
 * @asyncapi/parser, a devDependency. ASYNCAPI_PARSER_FROM names another directory to resolve it from
 * (a checkout whose node_modules predates the devDependency).
 */
async function loadParser(): Promise<AsyncApiParser> {
  const from = process.env.ASYNCAPI_PARSER_FROM ?? PROJECT_ROOT;
  const path = createRequire(join(from, 'package.json')).resolve('@asyncapi/parser');
  const mod = (await import(pathToFileURL(path).href)) as { Parser: new () => AsyncApiParser };
  return new mod.Parser();
}

t.test('asyncapi/asyncapi.json passes @asyncapi/parser without errors or warnings', async (t) => {
  const parser = await loadParser();
  const { document, diagnostics } = await parser.parse(readFileSync(ASYNCAPI_PATH, 'utf8'));
  // Severity 0 is an error, 1 a warning; 2 and 3 are hints (e.g. "AsyncAPI 3.1.0 exists").
  t.same(
    diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join('.')}: ${d.message}`),
    [],
  );
  t.ok(document, 'the parser built a document');
});

t.test('the gateway serves the contract documents and starts without a warning', async (t) => {
  const nats = await startNats(t);
  const logs = captureLogs('info');
  // Unset shared secrets warn on purpose (a multi-instance deployment needs them): set them.
  const { app } = await startGateway(
    t,
    nats.url,
    { ACK_TOKEN_SECRET: 'a'.repeat(32), WS_TICKET_SECRET: 'b'.repeat(32) },
    { logger: logs.logger },
  );

  t.test('no warning at a normal start', async (t) => {
    t.same(
      logs.lines.filter((l) => Number(l.level) >= 40).map((l) => l.msg),
      [],
    );
  });

  t.test('/asyncapi.json is the committed document', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/asyncapi.json' });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.same(res.json(), JSON.parse(readFileSync(ASYNCAPI_PATH, 'utf8')));
  });

  t.test('Swagger UI gets a server URL relative to its document, so it calls the gateway serving it', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    t.equal(res.statusCode, 200);
    const { servers, paths } = res.json() as { servers: { url: string }[]; paths: Record<string, unknown> };
    t.same(
      servers.map((s) => s.url),
      ['..'],
    );
    t.ok(paths['/v1/events'], 'the whole document');
    // Swagger UI loads `<page>/json` and resolves the server URL against it.
    for (const [docs, root] of [
      ['http://127.0.0.1:8080/docs/json', 'http://127.0.0.1:8080/'],
      ['https://events.example.com/gateway/docs/json', 'https://events.example.com/gateway/'],
    ] as const) {
      t.equal(new URL(servers[0]?.url ?? '', docs).href, root);
    }
    // The served /openapi.json keeps the document as generated.
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { servers: { url: string }[] };
    t.equal(openapi.servers[0]?.url, 'http://127.0.0.1:8080');
  });

  t.test('a request body sent as application/problem+json is refused like any unknown media type', async (t) => {
    for (const type of ['application/problem+json', 'text/plain']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${KEYS.a}`, 'content-type': type },
        payload: JSON.stringify({ type: 'order.created', source: 's', data: { order_id: 'o' } }),
      });
      t.equal(res.statusCode, 415, type);
      t.equal(res.json().code, 'GW_UNSUPPORTED_MEDIA_TYPE', type);
    }
  });
});
