// Client mistakes at the HTTP edge answer 4xx problem+json with a catalogue code, never a 5xx:
// missing bodies, bodies nested too deep, sequence numbers out of range, and fastify's own answers.
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
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
