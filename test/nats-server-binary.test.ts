// Finding a nats-server >= 2.10: an explicit path, PATH, the project cache, else a clear failure.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findNatsServer, locateNatsServer, natsServerVersion } from '../dev/nats-server/binary.ts';

function fakeServer(dir: string, version: string): string {
  const path = join(dir, `nats-server-${version}`);
  writeFileSync(path, `#!/bin/sh\necho "nats-server: v${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

t.test('the real binary the tests use is 2.10 or newer', async (t) => {
  const bin = await findNatsServer();
  const v = await natsServerVersion(bin);
  t.ok(v && (v[0] > 2 || (v[0] === 2 && v[1] >= 10)), `nats-server ${v?.join('.')}`);
});

t.test('an explicit binary of 2.10 or newer is used as it is', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = fakeServer(dir, '2.10.0');
  t.equal(await locateNatsServer(good, () => {}, join(dir, 'cache')), good);
});

t.test('a too-old binary is passed over for a usable one, and said so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = fakeServer(dir, '2.9.10');
  const real = await findNatsServer();
  const savedPath = process.env.PATH;
  // PATH holds only the real binary's folder: the old explicit one must lose to it.
  process.env.PATH = join(real, '..');
  const logs: string[] = [];
  try {
    const found = await locateNatsServer(old, (m) => logs.push(m), join(dir, 'cache'));
    t.not(found, old);
    t.equal(await natsServerVersion(found).then((v) => (v ? v[0] * 100 + v[1] >= 210 : false)), true);
  } finally {
    process.env.PATH = savedPath;
  }
  t.same(logs, [], 'no fetch was needed');
});

t.test('with nothing usable and no way to fetch, the message says how to install one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = fakeServer(dir, '2.9.10');
  const savedPath = process.env.PATH;
  process.env.PATH = join(dir, 'empty'); // no nats-server, no apt-get
  try {
    await t.rejects(
      locateNatsServer(old, () => {}, join(dir, 'cache')),
      { name: 'NatsServerNotFound', message: /Install nats-server 2\.10 or newer/ },
    );
  } finally {
    process.env.PATH = savedPath;
  }
});
