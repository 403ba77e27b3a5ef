// Idempotency-Key: real gateways on one nats-server. A repeat gets the stored answer (on any
// instance), another request under the same key is refused, a repeat while the first is in flight
// is refused, keys are per tenant, and a key whose request died is free again after its lease.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { spawnGateway } from './helpers/child-gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, KEY_FILE, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { startNats } from './helpers/nats.ts';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function request(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Sends a POST's headers and the first half of its body, and holds the rest until `finish`. */
function slowPost(url: string, path: string, headers: Record<string, string>, body: string) {
  const { port } = new URL(url);
  const socket: Socket = connect({ host: '127.0.0.1', port: Number(port) });
  const half = Math.floor(body.length / 2);
  const head = [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  socket.write(`${head}\r\n\r\n${body.slice(0, half)}`);
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8'))));
  return {
    socket,
    finish: async () => {
      socket.write(body.slice(half));
      const raw = await closed;
      return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1]), raw, body: JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) };
    },
  };
}

t.test('Idempotency-Key', async (t) => {
  const nats = await startNats(t);
  const logs = captureLogs('debug');
  const one = await startGateway(t, nats.url, {}, { listen: true, logger: logs.logger });
  const two = await startGateway(t, nats.url, {}, { listen: true });
  const claims = () => logs.lines.filter((l) => l.msg === 'idempotency key claimed').length;

  await t.test('a repeat with the same key and body gets the stored answer, on another instance too', async (t) => {
    const body = sampleEvent({ source: 'idem-replay' });
    const first = await request(one.url, 'POST', '/v1/events', { ...auth(KEYS.a), 'idempotency-key': 'k-replay' }, body);
    t.equal(first.status, 202);
    t.equal(first.headers.get('idempotent-replayed'), null, 'the first answer is no replay');
    const again = await request(two.url, 'POST', '/v1/events', { ...auth(KEYS.a), 'idempotency-key': '"k-replay"' }, body);
    t.equal(again.status, 202);
    t.equal(again.headers.get('idempotent-replayed'), 'true');
    t.match(again.headers.get('content-type'), /application\/json/);
    t.same(again.body, first.body, 'the same answer: the generated id, seq and duplicate: false');
    const history = await request(one.url, 'GET', '/v1/events?source=idem-replay', auth(KEYS.a));
    t.equal((history.body.events as unknown[]).length, 1, 'one event stored, though the body has no id');
  });

  await t.test('the same key for another request is refused with 422', async (t) => {
    const headers = { ...auth(KEYS.a), 'idempotency-key': 'k-mismatch' };
    t.equal((await request(one.url, 'POST', '/v1/events', headers, sampleEvent({ source: 'idem-a' }))).status, 202);
    const otherBody = await request(two.url, 'POST', '/v1/events', headers, sampleEvent({ source: 'idem-b' }));
    t.equal(otherBody.status, 422);
    t.equal(otherBody.body.code, 'GW_IDEMPOTENCY_KEY_MISMATCH');
    const otherPath = await request(one.url, 'POST', '/v1/events/batch', headers, { events: [sampleEvent({ source: 'idem-a' })] });
    t.equal(otherPath.body.code, 'GW_IDEMPOTENCY_KEY_MISMATCH');
  });

  await t.test('keys are per tenant', async (t) => {
    const body = sampleEvent({ source: 'idem-tenant' });
    const a = await request(one.url, 'POST', '/v1/events', { ...auth(KEYS.a), 'idempotency-key': 'k-tenant' }, body);
    const b = await request(one.url, 'POST', '/v1/events', { ...auth(KEYS.b), 'idempotency-key': 'k-tenant' }, body);
    t.equal(a.status, 202);
    t.equal(b.status, 202);
    t.equal(b.headers.get('idempotent-replayed'), null);
    t.not(b.body.id, a.body.id);
  });

  await t.test('a malformed key is a 400; without the header nothing changes', async (t) => {
    for (const key of ['', '""', 'x'.repeat(256)]) {
      const res = await request(one.url, 'POST', '/v1/events', { ...auth(KEYS.a), 'idempotency-key': key }, sampleEvent());
      t.equal(res.status, 400, `key ${JSON.stringify(key.slice(0, 10))}`);
      t.equal(res.body.code, 'GW_INVALID_REQUEST');
    }
    t.equal(
      (await request(one.url, 'POST', '/v1/events', { ...auth(KEYS.a), 'idempotency-key': 'x'.repeat(255) }, sampleEvent())).status,
      202,
      '255 characters are fine',
    );
    const before = claims();
    const body = sampleEvent({ source: 'idem-none' });
    const a = await request(one.url, 'POST', '/v1/events', auth(KEYS.a), body);
    const b = await request(one.url, 'POST', '/v1/events', auth(KEYS.a), body);
    t.not(a.body.id, b.body.id, 'two events');
    t.equal(b.headers.get('idempotent-replayed'), null);
    t.equal(claims(), before, 'no key claimed');
  });

  await t.test('consumer creation, WebSocket tickets and CloudEvents batches take it; a fetch does not', async (t) => {
    const put = (key: string) =>
      request(one.url, 'PUT', '/v1/consumers/idem-consumer', { ...auth(KEYS.a), 'idempotency-key': key }, { types: ['order.*'] });
    const created = await put('k-put');
    t.equal(created.status, 201);
    const replayed = await put('k-put');
    t.equal(replayed.status, 201, 'the stored 201, where a fresh PUT answers 200');
    t.equal(replayed.headers.get('idempotent-replayed'), 'true');
    t.equal((await put('k-put-2')).status, 200);

    const ticket = () => request(two.url, 'POST', '/v1/ws-tickets', { ...auth(KEYS.a), 'idempotency-key': 'k-ticket' });
    const t1 = await ticket();
    const t2 = await ticket();
    t.equal(t1.status, 201);
    t.same(t2.body, t1.body, 'the same ticket');

    const ce = JSON.stringify([{ specversion: '1.0', id: 'evt_idem_ce', type: 'order.created', source: 's', data: { order_id: 'o' } }]);
    const batch = () =>
      request(
        one.url,
        'POST',
        '/v1/events/batch',
        { ...auth(KEYS.a), 'idempotency-key': 'k-ce', 'content-type': 'application/cloudevents-batch+json' },
        ce,
      );
    const b1 = await batch();
    const b2 = await batch();
    t.equal(b1.status, 200);
    t.same(b2.body, b1.body);
    t.equal(b2.headers.get('idempotent-replayed'), 'true');

    const before = claims();
    const fetchOnce = () =>
      request(one.url, 'POST', '/v1/consumers/idem-consumer/fetch', { ...auth(KEYS.a), 'idempotency-key': 'k-fetch' }, { wait_ms: 0 });
    t.equal((await fetchOnce()).status, 200);
    const f2 = await fetchOnce();
    t.equal(f2.status, 200);
    t.equal(f2.headers.get('idempotent-replayed'), null);
    t.equal(claims(), before, 'a fetch claims no key');
  });

  await t.test('a repeat while the first request is in flight gets one 409; the first then completes and is replayed', async (t) => {
    const body = JSON.stringify(sampleEvent({ source: 'idem-flight' }));
    const headers = { ...auth(KEYS.a), 'idempotency-key': 'k-flight' };
    const before = claims();
    const slow = slowPost(one.url, '/v1/events', headers, body);
    t.teardown(() => slow.socket.destroy());
    // The key is claimed when the headers are in, before the body is read.
    await eventually('the slow request to claim its key', claims, (n) => n > before, { timeoutMs: 15_000 });
    const concurrent = await request(two.url, 'POST', '/v1/events', headers, body);
    t.equal(concurrent.status, 409);
    t.equal(concurrent.body.code, 'GW_IDEMPOTENCY_IN_FLIGHT');
    const first = await slow.finish();
    t.equal(first.status, 202, first.raw);
    const replay = await request(two.url, 'POST', '/v1/events', headers, body);
    t.equal(replay.status, 202);
    t.equal(replay.headers.get('idempotent-replayed'), 'true');
    t.same(replay.body, first.body);
  });

  await t.test('a key whose gateway died in flight is free again after IDEMPOTENCY_IN_FLIGHT_TIMEOUT', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'idem-keys-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(KEY_FILE));
    const child = spawnGateway(t, {
      NATS_URL: nats.url,
      API_KEYS_FILE: join(dir, 'keys.json'),
      LOG_LEVEL: 'debug',
      IDEMPOTENCY_IN_FLIGHT_TIMEOUT: '2s',
    });
    // A child process on a shared, loaded machine can take a while to load the code and listen.
    const url = await child.listening(60_000);
    const body = JSON.stringify(sampleEvent({ source: 'idem-crash' }));
    const headers = { ...auth(KEYS.a), 'idempotency-key': 'k-crash' };
    const slow = slowPost(url, '/v1/events', headers, body);
    t.teardown(() => slow.socket.destroy());
    await eventually('the child to claim the key', () => child.lines.some((l) => l.includes('idempotency key claimed')), Boolean, {
      timeoutMs: 15_000,
    });
    child.child.kill('SIGKILL');
    await child.exited;
    // The marker outlives its owner for at most the lease (2 s here); then a repeat is processed.
    const answer = await eventually(
      'the key to be free again',
      () => request(one.url, 'POST', '/v1/events', headers, body),
      (a) => a.status !== 409,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    t.equal(answer.status, 202);
    t.equal(answer.headers.get('idempotent-replayed'), null, 'processed, not replayed');
  });
});
