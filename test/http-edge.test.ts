// Client mistakes at the HTTP edge answer 4xx problem+json with a catalogue code, never a 5xx:
// missing bodies, bodies nested too deep, sequence numbers out of range, and fastify's own answers.
import t from 'tap';
import { jsonDepthExceeds } from '../src/json-depth.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

interface Res {
  statusCode: number;
  headers: Record<string, unknown>;
  json(): unknown;
}

t.test('http edge', async (t) => {
  const nats = await startNats(t);
  const { app, url } = await startGateway(t, nats.url, {}, { listen: true });

  const problem = (res: Res) => {
    const body = res.json() as Record<string, unknown>;
    return { status: res.statusCode, type: String(res.headers['content-type']).split(';')[0], code: body.code, title: body.title };
  };

  await t.test('1: a body endpoint with no body and no Content-Type is a 400 GW_MALFORMED_JSON', async (t) => {
    const ops: [string, string][] = [
      ['POST', '/v1/events'],
      ['POST', '/v1/events/batch'],
      ['PUT', '/v1/consumers/c1'],
      ['POST', '/v1/consumers/c1/fetch'],
      ['POST', '/v1/consumers/c1/ack'],
      ['POST', '/v1/dead-letters/redrive'],
    ];
    for (const [method, url] of ops) {
      const res = await app.inject({ method: method as 'POST', url, headers: auth(KEYS.a) });
      t.match(problem(res), { status: 400, type: 'application/problem+json', code: 'GW_MALFORMED_JSON' }, `${method} ${url}`);
    }
  });

  await t.test('2: a body nested deeper than BODY_MAX_DEPTH is a 400 GW_BODY_TOO_DEEP, before anything recursive', async (t) => {
    const post = (url: string, body: string) =>
      app.inject({ method: 'POST', url, headers: { ...auth(KEYS.a), 'content-type': 'application/json' }, body });
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const envelope = (data: string) =>
      `{"type":"order.provisioned","source":"s","data":{"order_id":"o","resources":[{"id":"r","type":"vm","status":"running"}],"deep":${data}}}`;
    for (const [url, body] of [
      ['/v1/events', envelope(nested(4400))],
      ['/v1/events', envelope(nested(200_000))],
      ['/v1/events/batch', `{"events":[${envelope(nested(100))}]}`],
      ['/v1/consumers/c1/ack', `{"acks":${nested(65)}}`],
    ] as const) {
      const res = await post(url, body);
      t.match(problem(res), { status: 400, type: 'application/problem+json', code: 'GW_BODY_TOO_DEEP' }, `${url} ${body.length} bytes`);
    }
    // At the limit (64 levels: the envelope, data, and 62 more), and brackets inside strings do not count.
    const ok = await post('/v1/events', envelope(nested(62)));
    t.equal(ok.statusCode, 202, ok.body);
    const inString = await post('/v1/events', envelope(`"${'[{'.repeat(500)}\\"[["`));
    t.equal(inString.statusCode, 202, inString.body);
    // The scan itself: strings with escaped quotes and backslashes are skipped whole.
    t.notOk(jsonDepthExceeds('{"a":"\\\\","b":"[\\"[[","c":[1]}', 2));
    t.ok(jsonDepthExceeds('{"a":"\\\\","b":[[1]]}', 2));
    t.notOk(jsonDepthExceeds('{"a":"[[[', 1), 'unterminated text is left to the parser');
    t.match(problem(await post('/v1/events', '{"type": [')), { status: 400, code: 'GW_MALFORMED_JSON' }, 'malformed JSON still is');
    t.match(
      problem(await post('/v1/events', '{"__proto__": {"x": 1}}')),
      { status: 400, code: 'GW_MALFORMED_JSON' },
      'and proto poisoning',
    );
  });

  await t.test('4: sequences beyond 2^53-1 are a 4xx, not a bus error', async (t) => {
    const big = '100000000000000000000';
    const list = await app.inject({ method: 'GET', url: `/v1/events?from_seq=${big}`, headers: auth(KEYS.a) });
    t.match(problem(list), { status: 400, code: 'GW_INVALID_REQUEST' }, 'from_seq');
    const unsafe = await app.inject({ method: 'GET', url: '/v1/events?from_seq=9007199254740992', headers: auth(KEYS.a) });
    t.match(problem(unsafe), { status: 400, code: 'GW_INVALID_REQUEST' }, 'from_seq = 2^53');
    const dl = await app.inject({ method: 'GET', url: `/v1/dead-letters?after_seq=${big}`, headers: auth(KEYS.a) });
    t.match(problem(dl), { status: 400, code: 'GW_INVALID_REQUEST' }, 'after_seq');
    const redrive = await app.inject({
      method: 'POST',
      url: '/v1/dead-letters/redrive',
      headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
      body: `{"seqs":[${big}]}`,
    });
    t.match(problem(redrive), { status: 422, code: 'GW_VALIDATION_FAILED' }, 'redrive seqs');
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/consumers/bigseq',
      headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
      body: `{"types":["*"],"from":{"seq":${big}}}`,
    });
    t.match(problem(put), { status: 422, code: 'GW_VALIDATION_FAILED' }, 'consumer from.seq');
    const ok = await app.inject({ method: 'GET', url: '/v1/events?from_seq=9007199254740991', headers: auth(KEYS.a) });
    t.equal(ok.statusCode, 200, '2^53-1 is accepted');
    const ws = await WsClient.connect(t, url, { key: KEYS.a });
    ws.send(`{"op":"subscribe","sub":"big","types":["*"],"from":{"seq":${big}}}`);
    const err = await ws.next((f) => f.op === 'error');
    t.equal(err.code, 'GW_INVALID_FRAME', 'a WebSocket subscribe from a seq beyond 2^53-1 is an invalid frame');
    ws.send('{"op":"subscribe","sub":"max","types":["*"],"from":{"seq":9007199254740991}}');
    t.match(await ws.next((f) => f.sub === 'max'), { op: 'subscribed' }, 'from 2^53-1 is accepted');
    await ws.close();
  });

  await t.test('6: consumer validation failures carry a title that matches what failed', async (t) => {
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/consumers/c2',
      headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
      body: '{"types":[]}',
    });
    const p = problem(put);
    t.equal(p.code, 'GW_VALIDATION_FAILED');
    t.notMatch(String(p.title), /event/i, `title "${p.title}" does not speak of an event`);
    const fetch = await app.inject({
      method: 'POST',
      url: '/v1/consumers/c2/fetch',
      headers: { ...auth(KEYS.a), 'content-type': 'application/json' },
      body: '{"max":100000}',
    });
    t.notMatch(String(problem(fetch).title), /event/i, `fetch title "${problem(fetch).title}"`);
    const badName = await app.inject({ method: 'GET', url: '/v1/consumers/bad.name', headers: auth(KEYS.a) });
    t.match(problem(badName), { status: 400, code: 'GW_INVALID_REQUEST', title: /parameter/ });
  });
});

t.test('a JSON body with a charset parameter is parsed as before', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(KEYS.a), 'content-type': type },
      body: JSON.stringify({
        type: 'order.provisioned',
        source: 's',
        data: { order_id: 'o', resources: [{ id: 'r', type: 'vm', status: 'running' }] },
      }),
    });
    t.equal(res.statusCode, 202, `${type}: ${res.body}`);
  }
});
