// Every way a publish can be refused answers problem+json with a stable code, and stores nothing.
import type { Test } from 'tap';
import t from 'tap';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';

t.test('publish errors', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { BODY_LIMIT_BYTES: 4096 });

  const expectProblem = (
    t: Test,
    res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
    code: string,
  ) => {
    t.equal(res.statusCode, status, `status ${status}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    const body = res.json() as Record<string, unknown>;
    t.match(body, { status, code, type: String, title: String, detail: String, instance: '/v1/events' });
    return body;
  };
  const post = (opts: { payload?: unknown; body?: string; headers?: Record<string, string> }) =>
    app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', ...auth(KEYS.a), ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : { payload: opts.payload as object }),
    });

  await t.test('401 without a key, with a malformed header, with an unknown key', async (t) => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer not-a-key', `bearer ${KEYS.a}x`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers.authorization = authorization;
      const res = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: sampleEvent() });
      expectProblem(t, res, 401, 'GW_UNAUTHORIZED');
    }
  });

  await t.test('auth comes before body checks: an unauthenticated malformed body is a 401', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expectProblem(t, res, 401, 'GW_UNAUTHORIZED');
  });

  await t.test('403 for a key without the publish scope', async (t) => {
    for (const key of [KEYS.aRead, KEYS.aSubscribe]) {
      const body = expectProblem(t, await post({ payload: sampleEvent(), headers: auth(key) }), 403, 'GW_FORBIDDEN_SCOPE');
      t.match(body.detail, /publish/);
    }
  });

  await t.test('403 and nothing stored when tenant_id is not the key tenant', async (t) => {
    const body = expectProblem(
      t,
      await post({ payload: sampleEvent({ id: 'evt_cross_1', tenant_id: 'ten_b' }) }),
      403,
      'GW_TENANT_MISMATCH',
    );
    t.same(body.errors, [{ pointer: '/tenant_id', message: "must equal the API key's tenant" }]);
    const inB = await storedEvents(nats.url, 'events.ten_b.>');
    const inA = await storedEvents(nats.url, 'events.ten_a.>');
    t.equal(inB.length + inA.length, 0);
  });

  await t.test('400 for malformed JSON and for an empty body', async (t) => {
    expectProblem(t, await post({ body: '{"type": "order.created",' }), 400, 'GW_MALFORMED_JSON');
    expectProblem(t, await post({ body: '' }), 400, 'GW_MALFORMED_JSON');
  });

  await t.test('413 for a body over the limit', async (t) => {
    const big = sampleEvent({ data: { order_id: 'o', pad: 'x'.repeat(5000) } });
    expectProblem(t, await post({ payload: big }), 413, 'GW_PAYLOAD_TOO_LARGE');
  });

  await t.test('415 for a content type other than JSON', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...auth(KEYS.a), 'content-type': type },
        body: 'type=order.created',
      });
      expectProblem(t, res, 415, 'GW_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  await t.test('422 lists each failing envelope field with its JSON pointer', async (t) => {
    const body = expectProblem(
      t,
      await post({
        payload: {
          type: 'Order.Created!',
          source: '',
          data: 'not-an-object',
          timestamp: 'yesterday',
          version: 'v1',
          id: 'evt.with.dots',
          extra: 1,
        },
      }),
      422,
      'GW_VALIDATION_FAILED',
    );
    const pointers = (body.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    t.same([...new Set(pointers)], ['/data', '/extra', '/id', '/source', '/timestamp', '/type', '/version'].sort());
  });

  await t.test('422 for data that does not match its type, with pointers into data', async (t) => {
    const body = expectProblem(
      t,
      await post({ payload: sampleEvent({ data: { resources: [{ id: 'r', type: 'vm' }] } }) }),
      422,
      'GW_VALIDATION_FAILED',
    );
    t.same((body.errors as { pointer: string }[]).map((e) => e.pointer).sort(), ['/data/order_id', '/data/resources/0/status']);
  });

  await t.test('422 for an unknown type and for an unsupported major version', async (t) => {
    expectProblem(t, await post({ payload: sampleEvent({ type: 'order.teleported' }) }), 422, 'GW_UNKNOWN_EVENT_TYPE');
    expectProblem(t, await post({ payload: sampleEvent({ version: '2.0' }) }), 422, 'GW_UNSUPPORTED_VERSION');
    t.equal((await post({ payload: sampleEvent({ version: '1.7' }) })).statusCode, 202, 'a newer minor of the same major is accepted');
  });

  await t.test('400 for an X-Correlation-Id that is not a subject-safe token', async (t) => {
    for (const bad of ['a.b', 'a*', 'x>', 'has space']) {
      const body = expectProblem(
        t,
        await post({ payload: sampleEvent(), headers: { 'x-correlation-id': bad } }),
        400,
        'GW_INVALID_REQUEST',
      );
      t.match(body.errors, [{ pointer: /x-correlation-id/ }]);
    }
  });

  await t.test('404 problem for unknown routes', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/nope', headers: auth(KEYS.a) });
    t.equal(res.statusCode, 404);
    t.match(res.json(), { code: 'GW_NOT_FOUND', status: 404 });
  });

  await t.test('nothing invalid was stored along the way', async (t) => {
    const stored = await storedEvents(nats.url, 'events.>');
    t.equal(stored.length, 1, 'only the 1.7 event');
    t.equal((stored[0]!.event as { version: string }).version, '1.7');
  });
});
