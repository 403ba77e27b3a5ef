// The explorer's assets and headers without a browser: /ui serves ui/ with its Content-Security-
// Policy (on /ui only), every module the page imports resolves, nothing outside ui/ is reachable,
// and the page's JSON Schema checker (ui/schema-check.js) agrees with the gateway's Ajv on every
// catalogue type's example and on broken variants of it.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { loadCatalogue } from '../src/catalogue.ts';
import { contentSecurityPolicy } from '../src/plugins/ui.ts';
import { KEYS, auth, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const UI = join(PROJECT_ROOT, 'ui');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

t.test('/ui serves the app with a strict CSP, and only its own files', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);

  const bare = await app.inject({ method: 'GET', url: '/ui' });
  t.equal(bare.statusCode, 302);
  t.equal(bare.headers.location, 'ui/', 'a relative redirect, so a path prefix survives');

  const page = await app.inject({ method: 'GET', url: '/ui/', headers: { host: 'gw.example:8443' } });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(
    page.headers['content-security-policy'],
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://gw.example:8443 wss://gw.example:8443; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.notMatch(page.body, /<script>|<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler in the page');

  // Every file of ui/ is served, with the CSP, and every module import resolves to one of them.
  const all = files(UI).map((f) => relative(UI, f));
  for (const file of all) {
    const res = await app.inject({ method: 'GET', url: `/ui/${file}` });
    t.equal(res.statusCode, 200, file);
    t.ok(res.headers['content-security-policy'], `${file} has the CSP`);
    if (file.endsWith('.js')) {
      t.match(res.headers['content-type'], /javascript/, `${file} is served as JavaScript`);
      for (const [, spec] of res.body.matchAll(/^import .* from '([^']+)';$/gm)) {
        const target = relative(UI, join(UI, file, '..', spec as string));
        t.ok(all.includes(target), `${file} imports ${spec}, which exists`);
      }
    }
  }

  for (const url of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/nope.js']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, `${url} is not served`);
  }
  const api = await app.inject({ method: 'GET', url: '/v1/event-types', headers: auth(KEYS.a) });
  t.equal(api.headers['content-security-policy'], undefined, 'the API is not under the page policy');
});

t.test('the CSP never echoes a Host header that is not a plain host', async (t) => {
  t.match(contentSecurityPolicy('127.0.0.1:8080'), /connect-src 'self' ws:\/\/127\.0\.0\.1:8080 wss:\/\/127\.0\.0\.1:8080;/);
  t.match(contentSecurityPolicy('[::1]:8080'), /ws:\/\/\[::1\]:8080/);
  for (const bad of ["evil.example; script-src 'unsafe-inline'", 'a b', 'x\r\ny', undefined]) {
    t.match(contentSecurityPolicy(bad), /connect-src 'self';/, JSON.stringify(bad));
  }
});

t.test("the page's schema checker agrees with the gateway's Ajv on the catalogue", async (t) => {
  const check = (await import(pathToFileURL(join(UI, 'schema-check.js')).href)) as {
    validate(schema: unknown, value: unknown): { pointer: string; message: string }[];
    exampleOf(schema: unknown): unknown;
  };
  const catalogue = loadCatalogue(undefined);
  let compared = 0;
  for (const entry of catalogue.types.values()) {
    const schema = entry.schema as { required?: string[]; properties?: Record<string, unknown> };
    const example = check.exampleOf(entry.schema) as Record<string, unknown>;
    t.same(check.validate(entry.schema, example), [], `the example made for ${entry.type} is valid here`);
    t.ok(entry.validate(example), `and for the gateway (${entry.type})`);
    const variants: unknown[] = [null, [], 'text', { ...example, zz_extra: 1 }];
    for (const key of schema.required ?? []) {
      const { [key]: _dropped, ...rest } = example;
      variants.push(rest);
    }
    for (const key of Object.keys(schema.properties ?? {})) {
      for (const value of [null, '', 'x', 'EUR', '2026-03-15T10:05:22Z', 'not a date', -1, 0, 1.5, 12345, true, [], [{}], {}]) {
        variants.push({ ...example, [key]: value });
      }
    }
    for (const v of variants) {
      const here = check.validate(entry.schema, v).length === 0;
      const there = entry.validate(v) === true;
      if (here !== there)
        t.fail(`${entry.type}: ${JSON.stringify(v)} is ${here ? 'valid' : 'invalid'} here, ${there ? 'valid' : 'invalid'} for Ajv`);
      compared++;
    }
  }
  t.ok(compared > 500, `${compared} payloads compared`);
});
