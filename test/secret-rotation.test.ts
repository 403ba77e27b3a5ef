// Rotating ACK_TOKEN_SECRET and WS_TICKET_SECRET without downtime: several `kid:secret` entries,
// the first signs, every one verifies.
import { createHmac } from 'node:crypto';
import t from 'tap';
import { AckTokens } from '../src/ack-tokens.ts';
import { SigningSecrets } from '../src/signing-secrets.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

const claims = { tenant: 'ten_a', consumer: 'billing', reply: '$JS.ACK.EVENTS.x.1.2.3.4.5', expiresAt: Date.now() + 60_000 };

t.test('an ack token signed with the old secret verifies after rotation to "new,old"', async (t) => {
  const before = new AckTokens('old');
  const token = before.sign(claims);
  for (const rotated of ['new,old', 'v2:new,v1:old', ' v2:new , old ']) {
    t.same(new AckTokens(rotated).verify(token, 'ten_a', 'billing'), claims, `verified by "${rotated}"`);
  }
  t.throws(
    () => new AckTokens('new').verify(token, 'ten_a', 'billing'),
    { code: 'GW_INVALID_ACK_TOKEN' },
    'dropped secrets stop verifying',
  );
  // The first entry signs: a token of the rotated instance verifies where only the new secret is left.
  const after = new AckTokens('v2:new,v1:old').sign(claims);
  t.same(new AckTokens('new').verify(after, 'ten_a', 'billing'), claims);
  t.throws(() => new AckTokens('old').verify(after, 'ten_a', 'billing'), { code: 'GW_INVALID_ACK_TOKEN' });
});

t.test('a single secret from before rotation keeps verifying even when it contains ":" or ","', async (t) => {
  for (const plain of ['team:s3cret', 'a,b']) {
    const mac = createHmac('sha256', plain).update('payload').digest();
    t.ok(new SigningSecrets(plain).verify('payload', mac), `"${plain}" verifies what it signed before`);
  }
  t.same(new SigningSecrets('v2:new,v1:old, bare').kids, ['v2', 'v1', '#3']);
  t.throws(() => new SigningSecrets(' , '));
});

t.test('a WebSocket ticket issued with the old secret is accepted by an instance rotated to "new,old"', async (t) => {
  const nats = await startNats(t);
  const old = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'old-secret' }, { listen: true });
  const rotated = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'k2:new-secret,k1:old-secret' }, { listen: true });
  const renewed = await startGateway(t, nats.url, { WS_TICKET_SECRET: 'k2:new-secret' }, { listen: true });
  const issue = async (gw: typeof old) =>
    (await gw.app.inject({ method: 'POST', url: '/v1/ws-tickets', headers: auth(KEYS.a) })).json().ticket as string;

  await WsClient.connect(t, rotated.url, { ticket: await issue(old) });
  t.pass('an old-secret ticket opened a connection on the rotated instance');
  // The rotated instance signs with the new secret.
  await WsClient.connect(t, renewed.url, { ticket: await issue(rotated) });
  t.pass('a ticket of the rotated instance opened a connection where only the new secret is left');
  t.equal((await WsClient.refusal(renewed.url, { ticket: await issue(old) })).status, 401, 'the dropped secret no longer verifies');
});
