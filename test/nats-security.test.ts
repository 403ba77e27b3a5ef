// Secure NATS links: the gateway authenticates with a creds file (JWT), an nkey, a user and password or a token, and
// speaks TLS (verifying the server against NATS_TLS_CA, presenting a client certificate) to real
// nats-servers configured that way; a missing or malformed credential file is a configuration
// error at start, never a connection retried forever.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import t from 'tap';
import { natsSecurityOptions } from '../src/bus/index.ts';
import { ConfigError, configWith, loadConfig } from '../src/config.ts';
import { eventually } from './helpers/eventually.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { auth, KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-nats-sec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function publishes(app: Awaited<ReturnType<typeof startGateway>>['app']): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(KEYS.a), payload: sampleEvent() });
  return res.statusCode;
}

t.test('user and password', async (t) => {
  const nats = await startNats(t, { config: 'authorization { users = [ { user: "gateway", password: "s3cret-pw" } ] }\n' });
  const { app } = await startGateway(t, nats.url, { NATS_USER: 'gateway', NATS_PASSWORD: 's3cret-pw' });
  t.equal(await publishes(app), 202, 'published through an authenticated connection');

  await t.test('a wrong password never connects: not ready, 503', async (t) => {
    const { app: wrong } = await startGateway(t, nats.url, { NATS_USER: 'gateway', NATS_PASSWORD: 'wrong' });
    t.notOk(wrong.bus.connected);
    const res = await wrong.inject({ method: 'GET', url: '/readyz' });
    t.equal(res.statusCode, 503);
    t.equal(await publishes(wrong), 503);
  });
});

t.test('token', async (t) => {
  const nats = await startNats(t, { config: 'authorization { token: "t0ken-for-the-gateway" }\n' });
  const { app } = await startGateway(t, nats.url, { NATS_TOKEN: 't0ken-for-the-gateway' });
  t.equal(await publishes(app), 202);
});

/** A NATS JWT (v2 claims) signed by `issuer`: what `nsc` would write, made here so the test needs no tool. */
function natsJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const b64 = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');
  const header = b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims: Record<string, unknown> = {
    jti: '',
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats,
  };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('hex').toUpperCase().slice(0, 52);
  const body = b64(JSON.stringify(claims));
  return `${header}.${body}.${b64(issuer.sign(new TextEncoder().encode(`${header}.${body}`)))}`;
}

t.test('creds file: decentralized JWT authentication (operator, account with JetStream, user)', async (t) => {
  const dir = tempDir(t);
  const operator = createOperator();
  const account = createAccount();
  const system = createAccount();
  const user = createUser();
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const js = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accountJwt = natsJwt(operator, account.getPublicKey(), 'GATEWAY', { type: 'account', version: 2, limits: { ...limits, ...js } });
  const systemJwt = natsJwt(operator, system.getPublicKey(), 'SYS', { type: 'account', version: 2, limits });
  const userJwt = natsJwt(account, user.getPublicKey(), 'gateway', {
    type: 'user',
    version: 2,
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  const credsFile = join(dir, 'gateway.creds');
  writeFileSync(
    credsFile,
    `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n` +
      `-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`,
  );
  const nats = await startNats(t, {
    config:
      `operator: ${natsJwt(operator, operator.getPublicKey(), 'OP', { type: 'operator', version: 2 })}\n` +
      `system_account: ${system.getPublicKey()}\nresolver: MEMORY\n` +
      `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n  ${system.getPublicKey()}: ${systemJwt}\n}\n`,
  });
  const { app } = await startGateway(t, nats.url, { NATS_CREDS_FILE: credsFile });
  t.equal(await publishes(app), 202, 'published as the JWT user');

  await t.test('a user the account did not sign is refused', async (t) => {
    const stranger = createUser();
    const forged = join(dir, 'forged.creds');
    writeFileSync(
      forged,
      `-----BEGIN NATS USER JWT-----\n${natsJwt(createAccount(), stranger.getPublicKey(), 'x', { type: 'user', version: 2, pub: {}, sub: {} })}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(stranger.getSeed())}\n------END USER NKEY SEED------\n`,
    );
    const { app: refused } = await startGateway(t, nats.url, { NATS_CREDS_FILE: forged });
    t.notOk(refused.bus.connected);
    t.equal((await refused.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  });
});

t.test('nkey seed file', async (t) => {
  const dir = tempDir(t);
  const user = createUser();
  const seedFile = join(dir, 'gateway.nk');
  writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
  const nats = await startNats(t, { config: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n` });
  const { app } = await startGateway(t, nats.url, { NATS_NKEY_SEED_FILE: seedFile });
  t.equal(await publishes(app), 202);
});

t.test('TLS: the server verified against NATS_TLS_CA, the gateway presenting its client certificate', async (t) => {
  const dir = tempDir(t);
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  // A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  );
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who}`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.pem`),
      '-days',
      '1',
      '-extfile',
      f(`${who}.ext`),
    );
  }
  const nats = await startNats(t, {
    config: `tls {\n  cert_file: "${f('server.pem')}"\n  key_file: "${f('server.key')}"\n  ca_file: "${f('ca.pem')}"\n  verify: true\n}\n`,
  });
  const { app } = await startGateway(t, nats.url, {
    NATS_TLS_CA: f('ca.pem'),
    NATS_TLS_CERT: f('client.pem'),
    NATS_TLS_KEY: f('client.key'),
  });
  t.equal(await publishes(app), 202, 'published over mutual TLS');

  await t.test('without the client certificate the server refuses the gateway', async (t) => {
    const { app: anonymous } = await startGateway(t, nats.url, { NATS_TLS_CA: f('ca.pem') });
    t.notOk(anonymous.bus.connected);
    t.equal((await anonymous.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  });

  await t.test('with NATS_TLS_* set, a server that offers no TLS is refused, not used in plain text', async (t) => {
    const plain = await startNats(t);
    const logs = captureLogs();
    const { app: strict } = await startGateway(t, plain.url, { NATS_TLS_CA: f('ca.pem') }, { logger: logs.logger });
    t.notOk(strict.bus.connected);
    t.equal((await strict.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
    // nats.js itself refuses to go on in plain text when TLS options are given.
    t.ok(
      logs.lines.some((l) => /does not support 'tls'/.test(String(l.reason))),
      `the attempt failed for that reason: ${JSON.stringify(logs.lines.map((l) => l.reason).filter(Boolean))}`,
    );
  });

  await t.test('a CA that did not sign the server certificate is refused', async (t) => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('other.key'),
      '-out',
      f('other.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=other',
    );
    const { app: distrustful } = await startGateway(t, nats.url, {
      NATS_TLS_CA: f('other.pem'),
      NATS_TLS_CERT: f('client.pem'),
      NATS_TLS_KEY: f('client.key'),
    });
    await eventually(
      'the bus to stay disconnected',
      () => distrustful.bus.connected,
      (c) => c === false,
    );
    t.equal((await distrustful.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  });
});

t.test('credential and TLS files are checked at start: each problem named, exit 2 material', async (t) => {
  const dir = tempDir(t);
  const junk = join(dir, 'junk.txt');
  writeFileSync(junk, 'not a credential\n');

  t.throws(() => loadConfig({ NATS_CREDS_FILE: join(dir, 'missing.creds') }), /NATS_CREDS_FILE=.*no such file/);
  t.throws(() => loadConfig({ NATS_TLS_CA: dir }), /NATS_TLS_CA=.*not a file/);

  const problems = (overrides: Parameters<typeof configWith>[0]): string[] => {
    try {
      natsSecurityOptions(configWith(overrides));
      return [];
    } catch (err) {
      t.ok(err instanceof ConfigError, 'a ConfigError');
      return (err as ConfigError).problems;
    }
  };
  t.match(problems({ NATS_CREDS_FILE: junk }), [/NATS_CREDS_FILE=.*not a NATS credentials file/]);
  t.match(problems({ NATS_NKEY_SEED_FILE: junk }), [/NATS_NKEY_SEED_FILE=.*no user nkey seed/]);
  t.match(problems({ NATS_TLS_CA: junk }), [/NATS_TLS_CA=.*not a PEM file/]);
  t.match(problems({ NATS_TLS_CERT: junk }), [/NATS_TLS_CERT and NATS_TLS_KEY go together/, /NATS_TLS_CERT=.*not a PEM file/]);
  t.match(problems({ NATS_USER: 'u' }), [/NATS_USER is set without NATS_PASSWORD/]);
  t.match(problems({ NATS_TOKEN: 'x', NATS_USER: 'u', NATS_PASSWORD: 'p' }), [/give one way of authenticating/]);
  t.same(problems({}), [], 'nothing configured: a plain connection');

  await t.test('buildApp refuses to start with a broken file (no connection attempted)', async (t) => {
    await t.rejects(startGateway(t, 'nats://127.0.0.1:1', { NATS_NKEY_SEED_FILE: junk }), ConfigError);
  });
});
