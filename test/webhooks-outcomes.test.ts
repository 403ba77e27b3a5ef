// What a receiver's answer does, against real receivers on 127.0.0.1: failures are retried with
// backoff (same webhook-id), 410 disables the webhook until resumed, 429 with Retry-After waits that
// long (capped), redirects are not followed, timeouts retry, exhausted events go to the dead letters
// under `webhook:<name>` and redrive sends them to the webhook again; a slow receiver holds only its
// own webhook; the address check also runs at connect time.
import t from 'tap';
import { call, publish } from './helpers/consumers.ts';
import { putWebhook } from './helpers/webhooks.ts';
import { eventually, waitOut } from './helpers/eventually.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { type Answer, type Received, startReceiver, verify } from './helpers/webhook-receiver.ts';
import { WebhookSink, type WebhookAttemptRecord } from '../src/delivery/sinks/webhook.ts';
import type { EventRef } from '../src/delivery/engine.ts';
import { WebhookAddressPolicy } from '../src/webhook-addresses.ts';

const LOCAL = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true };

interface Attempt {
  event_id: string;
  attempt: number;
  status: number | null;
  outcome: string;
  error?: string;
}

async function attemptsOf(app: Parameters<typeof call>[0], name: string): Promise<Attempt[]> {
  return (await call(app, KEYS.a, 'GET', `/v1/webhooks/${name}/attempts?limit=200`)).body.attempts as Attempt[];
}

t.test('a receiver failing twice then succeeding gets the same event three times, backed off, verified each time', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const seen = new Map<string, number>();
  const receiver = await startReceiver(t, (r) => {
    const n = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, n);
    return { status: n <= 2 ? 500 : 204 };
  });
  const created = await putWebhook(app, KEYS.a, 'flaky', {
    url: receiver.url,
    types: ['*'],
    retry: { max_attempts: 5, initial_backoff: 200, max_backoff: 1000 },
  });
  t.equal(created.status, 201, JSON.stringify(created.body));
  const events = [await publish(app, KEYS.a), await publish(app, KEYS.a), await publish(app, KEYS.a)];
  await eventually('every event delivered', () => events.every((e) => receiver.deliveredIds().has(e.id)), Boolean, { timeoutMs: 30_000 });
  for (const e of events) {
    const got = receiver.received.filter((r) => r.id === e.id);
    t.equal(got.length, 3, 'three attempts, the same webhook-id');
    for (const r of got) verify(created.body.secret as string, r);
    // Attempt n waits about initial_backoff * 2^(n-1), half of it random: at least half of that.
    t.ok((got[1] as Received).at - ((got[0] as Received).answeredAt as number) >= 90, 'the first retry is backed off');
    t.ok((got[2] as Received).at - ((got[1] as Received).answeredAt as number) >= 190, 'the second waits longer');
  }
  const attempts = await eventually(
    '9 recorded attempts',
    () => attemptsOf(app, 'flaky'),
    (a) => a.length >= 9,
  );
  for (const e of events) {
    const mine = attempts.filter((a) => a.event_id === e.id).sort((a, b) => a.attempt - b.attempt);
    t.match(mine, [
      { attempt: 1, status: 500, outcome: 'retry', error: 'HTTP 500' },
      { attempt: 2, status: 500, outcome: 'retry' },
      { attempt: 3, status: 204, outcome: 'delivered' },
    ]);
  }
  t.same((await call(app, KEYS.a, 'GET', '/v1/dead-letters?consumer=webhook:flaky')).body, { dead_letters: [] }, 'nothing dead-lettered');
});

t.test('410 Gone disables the webhook (visible), nothing is sent until resume, then what waited is delivered', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  let gone = true;
  const receiver = await startReceiver(t, () => ({ status: gone ? 410 : 200 }));
  t.equal((await putWebhook(app, KEYS.a, 'gone', { url: receiver.url, types: ['*'], max_in_flight: 1 })).status, 201);
  const first = await publish(app, KEYS.a);
  const webhook = await eventually(
    'the webhook to be disabled',
    async () => (await call(app, KEYS.a, 'GET', '/v1/webhooks/gone')).body,
    (b) => b.state === 'disabled',
  );
  t.match(webhook.state_reason, /410 Gone/);
  t.match((await call(app, KEYS.a, 'GET', '/v1/webhooks')).body, { webhooks: [{ name: 'gone', state: 'disabled' }] });
  const later = await publish(app, KEYS.a);
  await waitOut(1500, 'a disabled webhook must not deliver');
  t.equal(receiver.received.length, 1, 'one request: the 410');
  t.match(
    await eventually(
      'the recorded attempt',
      () => attemptsOf(app, 'gone'),
      (a) => a.length > 0,
    ),
    [{ event_id: first.id, status: 410, outcome: 'disabled' }],
  );

  gone = false;
  t.match((await call(app, KEYS.a, 'POST', '/v1/webhooks/gone/resume')).body, { state: 'active' });
  await eventually('both events delivered', () => receiver.deliveredIds().has(first.id) && receiver.deliveredIds().has(later.id), Boolean, {
    timeoutMs: 20_000,
  });
  t.same(
    receiver.received.slice(1).map((r) => r.id),
    [first.id, later.id],
    'the event answered 410 first, then the one that waited',
  );
  t.notOk('state_reason' in (await call(app, KEYS.a, 'GET', '/v1/webhooks/gone')).body, 'resume clears the reason');
});

t.test('429 with Retry-After waits that long; a Retry-After beyond WEBHOOK_MAX_RETRY_AFTER waits the cap', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { ...LOCAL, WEBHOOK_MAX_RETRY_AFTER: 2000 });
  const answers: Answer[] = [
    { status: 429, headers: { 'retry-after': '1' } },
    { status: 503, headers: { 'retry-after': '3600' } },
    { status: 200 },
  ];
  const receiver = await startReceiver(t, (r) => answers[r.n - 1] ?? { status: 200 });
  await putWebhook(app, KEYS.a, 'busy', {
    url: receiver.url,
    types: ['*'],
    retry: { max_attempts: 5, initial_backoff: 100 },
  });
  const e = await publish(app, KEYS.a);
  await eventually('the delivery', () => receiver.deliveredIds().has(e.id), Boolean, { timeoutMs: 30_000 });
  const [a, b, c] = receiver.received as [Received, Received, Received];
  t.equal(receiver.received.length, 3);
  t.ok(
    b.at - (a.answeredAt as number) >= 900,
    `Retry-After: 1 waited ${b.at - (a.answeredAt as number)} ms (>= 1 s, not the 100 ms backoff)`,
  );
  t.ok(c.at - (b.answeredAt as number) >= 1900, 'Retry-After: 3600 waited the 2 s cap, at least');
  t.ok(c.at - (b.answeredAt as number) < 60_000, 'and not an hour');
});

t.test('redirects are not followed: retried to max_attempts, dead-lettered as webhook:<name>, redrive delivers again', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const elsewhere = await startReceiver(t);
  let redirect = true;
  const receiver = await startReceiver(t, () =>
    redirect ? { status: 302, headers: { location: `${elsewhere.url}/moved` } } : { status: 200 },
  );
  await putWebhook(app, KEYS.a, 'moved', {
    url: receiver.url,
    types: ['*'],
    retry: { max_attempts: 3, initial_backoff: 100 },
  });
  const e = await publish(app, KEYS.a);
  const dead = await eventually(
    'the dead letter',
    async () => (await call(app, KEYS.a, 'GET', '/v1/dead-letters?consumer=webhook:moved')).body.dead_letters as Record<string, unknown>[],
    (d) => d.length === 1,
    { timeoutMs: 30_000 },
  );
  t.match(dead[0], { consumer: 'webhook:moved', reason: 'max_deliver_exceeded', event: { id: e.id } });
  t.equal(receiver.received.filter((r) => r.id === e.id).length, 3, 'max_attempts requests, no more');
  t.equal(elsewhere.received.length, 0, 'the redirect target was never asked');
  const attempts = await eventually(
    '3 recorded attempts',
    () => attemptsOf(app, 'moved'),
    (a) => a.length >= 3,
  );
  t.match(attempts, [{ status: 302, outcome: 'retry', error: 'HTTP 302' }]);
  t.match((await call(app, KEYS.a, 'GET', '/v1/webhooks/moved')).body, { lag: 0 });

  redirect = false;
  const redriven = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: { consumer: 'webhook:moved' } });
  t.match(redriven.body, { redriven: 1, results: [{ status: 'redriven', consumer: 'webhook:moved' }] });
  await eventually('the redriven delivery', () => receiver.deliveredIds().has(e.id), Boolean, { timeoutMs: 20_000 });
  t.equal(receiver.received.at(-1)?.id, e.id, 'the same webhook-id (the event id)');
  t.same((await call(app, KEYS.a, 'GET', '/v1/dead-letters?consumer=webhook:moved')).body, { dead_letters: [] });

  // A deleted webhook's dead letters stay, and are not redriven to anything.
  redirect = true;
  const e2 = await publish(app, KEYS.a);
  await eventually(
    'the second dead letter',
    async () => (await call(app, KEYS.a, 'GET', '/v1/dead-letters?consumer=webhook:moved')).body.dead_letters as unknown[],
    (d) => d.length === 1,
    { timeoutMs: 30_000 },
  );
  await call(app, KEYS.a, 'DELETE', '/v1/webhooks/moved');
  const refused = await call(app, KEYS.a, 'POST', '/v1/dead-letters/redrive', { filter: { consumer: 'webhook:moved' } });
  t.match(refused.body, { redriven: 0, results: [{ status: 'failed', error: { code: 'GW_NOT_FOUND' } }] });
  t.ok(e2.id);
});

t.test('a receiver that does not answer in WEBHOOK_TIMEOUT counts as failed and is retried', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { ...LOCAL, WEBHOOK_TIMEOUT: 1000 });
  const receiver = await startReceiver(t, (r) => (r.n === 1 ? { status: 200, hold: true } : { status: 200 }));
  await putWebhook(app, KEYS.a, 'stuck', {
    url: receiver.url,
    types: ['*'],
    retry: { max_attempts: 3, initial_backoff: 100 },
  });
  const e = await publish(app, KEYS.a);
  await eventually('the retry to be delivered', () => receiver.received.length >= 2 && receiver.deliveredIds().has(e.id), Boolean, {
    timeoutMs: 20_000,
  });
  t.same(
    receiver.received.map((r) => r.id),
    [e.id, e.id],
  );
  const attempts = await eventually(
    '2 recorded attempts',
    () => attemptsOf(app, 'stuck'),
    (a) => a.length >= 2,
  );
  t.match(
    attempts.find((a) => a.attempt === 1),
    { status: null, outcome: 'retry', error: /no answer within 1000 ms/ },
  );
});

t.test("one slow receiver holds only its own webhook: another tenant's is delivered meanwhile", async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const slow = await startReceiver(t, () => ({ status: 200, hold: true }));
  const fast = await startReceiver(t);
  await putWebhook(app, KEYS.a, 'slow', { url: slow.url, types: ['*'], max_in_flight: 3 });
  await putWebhook(app, KEYS.b, 'fast', { url: fast.url, types: ['*'] });
  const slowEvents: { id: string }[] = [];
  for (let i = 0; i < 10; i++) slowEvents.push(await publish(app, KEYS.a));
  await eventually(
    'the slow receiver to hold 3 requests',
    () => slow.inFlight,
    (n) => n === 3,
  );
  const fastEvents: { id: string }[] = [];
  for (let i = 0; i < 20; i++) fastEvents.push(await publish(app, KEYS.b));
  await eventually('the fast receiver to get everything', () => fastEvents.every((e) => fast.deliveredIds().has(e.id)), Boolean, {
    timeoutMs: 20_000,
  });
  t.equal(slow.inFlight, 3, 'while the slow one still holds its 3 requests');
  t.equal(slow.maxInFlight, 3, 'never more than max_in_flight at once');
  slow.release();
  const answerAll = setInterval(() => slow.release(), 50);
  t.teardown(() => clearInterval(answerAll));
  await eventually('the slow receiver to get everything', () => slowEvents.every((e) => slow.deliveredIds().has(e.id)), Boolean, {
    timeoutMs: 20_000,
  });
  t.ok(slow.maxInFlight <= 3);
});

t.test("a receiver's long answer is read up to WEBHOOK_RESPONSE_MAX_BYTES and dropped: the event counts as delivered", async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { ...LOCAL, WEBHOOK_RESPONSE_MAX_BYTES: 1024 });
  const receiver = await startReceiver(t, () => ({ status: 200, body: 'x'.repeat(8 * 1048576) }));
  await putWebhook(app, KEYS.a, 'chatty', { url: receiver.url, types: ['*'], retry: { max_attempts: 2, initial_backoff: 100 } });
  const events = [await publish(app, KEYS.a), await publish(app, KEYS.a)];
  const attempts = await eventually(
    'both attempts recorded',
    () => attemptsOf(app, 'chatty'),
    (a) => a.length >= 2,
    { timeoutMs: 20_000 },
  );
  t.match(attempts, [
    { status: 200, outcome: 'delivered' },
    { status: 200, outcome: 'delivered' },
  ]);
  t.same(attempts.map((a) => a.event_id).sort(), events.map((e) => e.id).sort());
  t.equal(receiver.received.length, 2, 'each sent once');
});

t.test('max_in_flight 1 keeps the stream order through retries', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, LOCAL);
  const receiver = await startReceiver(t, (r) => ({ status: r.n % 3 === 2 ? 500 : 200, delayMs: 10 }));
  await putWebhook(app, KEYS.a, 'ordered', {
    url: receiver.url,
    types: ['*'],
    max_in_flight: 1,
    retry: { max_attempts: 5, initial_backoff: 100 },
  });
  const events: { id: string }[] = [];
  for (let i = 0; i < 8; i++) events.push(await publish(app, KEYS.a));
  await eventually('every event', () => events.every((e) => receiver.deliveredIds().has(e.id)), Boolean, { timeoutMs: 30_000 });
  const firstDelivered: string[] = [];
  for (const r of receiver.received) if (!firstDelivered.includes(r.id)) firstDelivered.push(r.id);
  t.same(
    firstDelivered,
    events.map((e) => e.id),
    'first seen in publish order',
  );
  t.ok(
    receiver.received.every(
      (r, i) => i === 0 || r.id === receiver.received[i - 1]?.id || receiver.deliveredIds().has(receiver.received[i - 1]?.id as string),
    ),
    'an event is sent only once the one before it was delivered',
  );
  t.equal(receiver.maxInFlight, 1);
});

t.test('the sink checks the address at connect time: a host resolving to loopback is never connected to', async (t) => {
  const receiver = await startReceiver(t);
  const port = new URL(receiver.url).port;
  const strict = new WebhookAddressPolicy('', true);
  const attempts: WebhookAttemptRecord[] = [];
  const event: EventRef = { seq: 1, json: '{"id":"evt_1"}', envelope: { id: 'evt_1' } as never };
  const deliver = (url: string) =>
    new Promise<{ err?: Error }>((resolve) => {
      const sink = new WebhookSink(
        {
          url: new URL(url),
          secret: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
          maxInFlight: 1,
          retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 100 },
        },
        { connectTimeoutMs: 2000, timeoutMs: 5000, maxRetryAfterMs: 1000, responseMaxBytes: 1024, policy: strict },
        { attempt: (a) => attempts.push(a), gone: () => undefined, failed: () => undefined },
      );
      sink.write(event, 1, (err) => {
        resolve({ err });
        void sink.close(0);
      });
    });
  // `localhost` passes no check before it is looked up: the lookup the connection uses refuses it.
  t.match(await deliver(`http://localhost:${port}/`), { err: { message: /EADDRNOTALLOWED/ } });
  t.match(await deliver(`http://127.0.0.1:${port}/`), { err: { message: /not allowed/ } });
  t.match(await deliver(`http://[::ffff:127.0.0.1]:${port}/`), { err: { message: /not allowed/ } });
  t.equal(receiver.received.length, 0, 'the receiver was never reached');
  t.match(attempts, [{ status: null, outcome: 'retry' }, { status: null }, { status: null }]);
  // Allowed by host name, the same URL is delivered.
  const trusting = new WebhookAddressPolicy('localhost', true);
  t.ok(trusting.allows('localhost', '127.0.0.1'));
  t.notOk(strict.allows('localhost', '127.0.0.1'));
  t.ok(new WebhookAddressPolicy('10.0.0.0/8', true).allows('x', '10.1.2.3'));
  t.notOk(new WebhookAddressPolicy('10.0.0.0/8', true).allows('x', '169.254.169.254'));
  t.throws(() => new WebhookAddressPolicy('not a host!', true), /WEBHOOK_ALLOWED_HOSTS/);
});
