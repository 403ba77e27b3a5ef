// Every answer at the HTTP edge is application/problem+json with a catalogue code, including the
// ones Node's HTTP parser or fastify's router give before any route runs: checked with raw
// requests on a real listening gateway.
import t from 'tap';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { expectProblem, raw } from './helpers/raw-http.ts';

t.test("fastify's and Node's own answers are problem documents", async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { BODY_LIMIT_BYTES: 2048 }, { listen: true });
  const key = auth(KEYS.a).authorization;
  const req = (line: string, headers: string[] = [], body = '') =>
    `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;

  expectProblem(t, await raw(gw.url, 'GARBAGE\r\n\r\n'), 400, 'GW_MALFORMED_REQUEST', 'a malformed request line');
  expectProblem(t, await raw(gw.url, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'), 400, 'GW_MALFORMED_REQUEST', 'a malformed header');
  expectProblem(t, await raw(gw.url, 'FOO /v1/events HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'GW_MALFORMED_REQUEST', 'an unknown method');
  expectProblem(t, await raw(gw.url, req(`GET /v1/events?x=${'a'.repeat(20_000)} HTTP/1.1`)), 431, 'GW_HEADERS_TOO_LARGE', 'a 20 KB URL');
  expectProblem(
    t,
    await raw(gw.url, req('GET /v1/events HTTP/1.1', [`X-Big: ${'a'.repeat(20_000)}`])),
    431,
    'GW_HEADERS_TOO_LARGE',
    'a 20 KB header',
  );
  expectProblem(
    t,
    await raw(gw.url, req(`GET /v1/correlations/${'a'.repeat(300)} HTTP/1.1`, [`Authorization: ${key}`])),
    414,
    'GW_URI_TOO_LONG',
    'a path parameter over maxParamLength',
  );
  expectProblem(
    t,
    await raw(gw.url, req('GET /v1/correlations/%E0%A4%A HTTP/1.1', [`Authorization: ${key}`])),
    400,
    'GW_INVALID_REQUEST',
    'a bad percent-encoding',
  );
  expectProblem(t, await raw(gw.url, req('GET /nope HTTP/1.1')), 404, 'GW_NOT_FOUND', 'an unknown route');
  expectProblem(
    t,
    await raw(gw.url, req('DELETE /v1/events HTTP/1.1', [`Authorization: ${key}`])),
    405,
    'GW_METHOD_NOT_ALLOWED',
    'a known path, another method',
  );
  expectProblem(
    t,
    await raw(gw.url, req('PROPFIND /v1/events HTTP/1.1', [`Authorization: ${key}`])),
    405,
    'GW_METHOD_NOT_ALLOWED',
    'PROPFIND on a known path',
  );
  expectProblem(
    t,
    await raw(gw.url, req('POST /v1/events HTTP/1.1', [`Authorization: ${key}`, 'Content-Type: text/csv', 'Content-Length: 3'], 'a,b')),
    415,
    'GW_UNSUPPORTED_MEDIA_TYPE',
    'text/csv',
  );
  expectProblem(
    t,
    await raw(gw.url, req('POST /v1/events HTTP/1.1', [`Authorization: ${key}`, 'Content-Length: 3'], '{}x')),
    415,
    'GW_UNSUPPORTED_MEDIA_TYPE',
    'a body without a Content-Type',
  );
  expectProblem(
    t,
    await raw(
      gw.url,
      req('POST /v1/events HTTP/1.1', [`Authorization: ${key}`, 'Content-Type: application/json', 'Content-Length: 5'], '{"a":'),
    ),
    400,
    'GW_MALFORMED_JSON',
    'truncated JSON',
  );
  expectProblem(
    t,
    await raw(
      gw.url,
      req('POST /v1/events HTTP/1.1', [`Authorization: ${key}`, 'Content-Type: application/json', 'Content-Length: 99999'], '{}'),
    ),
    413,
    'GW_PAYLOAD_TOO_LARGE',
    'a Content-Length over the limit',
  );
  const chunked = `${'a'.repeat(3000)}`;
  expectProblem(
    t,
    await raw(
      gw.url,
      req(
        'POST /v1/events HTTP/1.1',
        [`Authorization: ${key}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'],
        `${chunked.length.toString(16)}\r\n${chunked}\r\n0\r\n\r\n`,
      ),
    ),
    413,
    'GW_PAYLOAD_TOO_LARGE',
    'a chunked body over the limit',
  );
  // And a plain one still works on the same server.
  const ok = await raw(gw.url, req('GET /healthz HTTP/1.1'));
  t.equal(ok.status, 200);
});
