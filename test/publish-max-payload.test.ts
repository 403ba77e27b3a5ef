// An event whose stored message (the envelope with what the gateway adds, and its headers) would
// exceed the NATS server's max_payload is refused 413 GW_PAYLOAD_TOO_LARGE before anything is sent,
// on its own and as a batch entry (the others are stored); it was a 503 (issue #12 item 3).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import t from 'tap';
import { findNatsServer } from '../dev/nats-server/binary.ts';
import { startNatsServer } from '../dev/nats-server/process.ts';
import { busInternals } from '../src/bus/testing.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { storedEvents } from './helpers/stream.ts';
import { WsClient } from './helpers/ws-client.ts';

const MAX_PAYLOAD = 16_384;

async function smallPayloadNats(t: Test): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-nats-maxpayload-'));
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, `max_payload: ${MAX_PAYLOAD}\n`);
  const server = await startNatsServer({ bin: await findNatsServer(), storeDir: join(dir, 'store'), extraArgs: ['-c', conf] });
  t.teardown(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return server.url;
}

const withData = (id: string, chars: number) => sampleEvent({ id, data: { ...(sampleEvent().data as object), note: 'x'.repeat(chars) } });

t.test('an event beyond the server max_payload is 413, alone or in a batch; one that fits is stored and delivered', async (t) => {
  const url = await smallPayloadNats(t);
  // The HTTP limit lets the body through: only the bus's limit can refuse it.
  const gw = await startGateway(t, url, { BODY_LIMIT_BYTES: 64 * 1024 }, { listen: true });
  const { app } = gw;

  const tooBig = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: withData('evt_big', MAX_PAYLOAD - 200),
  });
  t.equal(tooBig.statusCode, 413, 'too large for the bus: 413, not 503');
  t.match(tooBig.headers['content-type'], /^application\/problem\+json/);
  t.match(tooBig.json(), { status: 413, code: 'GW_PAYLOAD_TOO_LARGE', detail: /max_payload|bytes/ });
  t.notOk(tooBig.headers['retry-after'], 'not retryable');

  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  await ws.subscribe({ sub: 'all', types: ['*'] });
  // Well within the limit even with what the gateway, the republish and a dead letter add.
  const fits = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: withData('evt_fits', MAX_PAYLOAD - 4096),
  });
  t.equal(fits.statusCode, 202, 'an event that fits is stored');
  const live = await ws.next((f) => f.op === 'event' && (f.event as { id?: string }).id === 'evt_fits', 5000);
  t.ok(live, 'and reaches a live subscriber');

  const batch = await app.inject({
    method: 'POST',
    url: '/v1/events/batch',
    headers: auth(KEYS.a),
    payload: { events: [withData('evt_b0', 100), withData('evt_b1', MAX_PAYLOAD), withData('evt_b2', 100)] },
  });
  t.equal(batch.statusCode, 200);
  const body = batch.json();
  t.equal(body.failed, 1);
  t.match(body.results[1], { index: 1, error: { code: 'GW_PAYLOAD_TOO_LARGE' } }, 'the oversized entry fails with 413 code');
  t.match(body.results[0], { id: 'evt_b0', seq: Number });
  t.match(body.results[2], { id: 'evt_b2', seq: Number });
  const ids = (await storedEvents(url, 'events.ten_a.>')).map((s) => (s.event as { id: string }).id);
  t.same(ids, ['evt_fits', 'evt_b0', 'evt_b2'], 'only the events that fit were stored');
});

t.test('a body just under BODY_LIMIT_BYTES equal to the default max_payload is 413, not 503', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { BODY_LIMIT_BYTES: 1_048_576 });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(KEYS.a),
    payload: withData('evt_edge', 1_048_576 - 400),
  });
  t.equal(res.statusCode, 413);
  t.match(res.json(), { code: 'GW_PAYLOAD_TOO_LARGE' });

  // An operator's max_msg_size on the stream refuses it too: 413 as well, not 503.
  const { jsm } = busInternals(app.bus);
  const info = await jsm.streams.info('EVENTS');
  await jsm.streams.update('EVENTS', { ...info.config, max_msg_size: 2048 });
  const capped = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: withData('evt_capped', 4096) });
  t.equal(capped.statusCode, 413, "over the stream's max_msg_size");
  t.match(capped.json(), { code: 'GW_PAYLOAD_TOO_LARGE' });
});
