// Configuration from the environment: defaults, parsing, and one clear message per bad value.
import t from 'tap';
import { ApiKeys, sha256 } from '../src/auth/api-keys.ts';
import { ConfigError, loadConfig } from '../src/config.ts';

t.test('defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.PORT, 8080);
  t.equal(c.HOST, '127.0.0.1');
  t.equal(c.NATS_URL, undefined, 'no NATS_URL means an embedded server');
  t.equal(c.STREAM_MAX_AGE, 7 * 86_400_000);
  t.equal(c.STREAM_DUPLICATE_WINDOW, 120_000);
  t.equal(c.BODY_LIMIT_BYTES, 1_048_576);
  t.equal(c.BATCH_MAX_EVENTS, 500);
});

t.test('values are parsed', async (t) => {
  const c = loadConfig({ NATS_URL: 'nats://a:4222, nats://b:4222', STREAM_MAX_AGE: '12h', STREAM_DUPLICATE_WINDOW: '500ms', PORT: '0' });
  t.same(c.NATS_URL, ['nats://a:4222', 'nats://b:4222']);
  t.equal(c.STREAM_MAX_AGE, 12 * 3_600_000);
  t.equal(c.STREAM_DUPLICATE_WINDOW, 500);
  t.equal(c.PORT, 0);
});

t.test('every bad value is reported at once, by name', async (t) => {
  const env = {
    PORT: 'eighty',
    STREAM_MAX_AGE: '7 days',
    LOG_LEVEL: 'loud',
    NATS_URL: 'http://x',
    STREAM_NAME: 'a.b',
    BATCH_MAX_EVENTS: '0',
  };
  try {
    loadConfig(env);
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const problems = (err as ConfigError).problems;
    t.equal(problems.length, Object.keys(env).length);
    for (const name of Object.keys(env))
      t.ok(
        problems.some((p) => p.startsWith(`${name}=`)),
        name,
      );
  }
});

t.test('API key files: digests only, constant-time lookup, clear errors', async (t) => {
  const keys = ApiKeys.fromDocument({ keys: [{ tenant_id: 'ten_a', key_sha256: sha256('secret').toString('hex'), scopes: ['publish'] }] });
  t.match(keys.authenticate('secret'), { tenantId: 'ten_a' });
  t.ok(keys.authenticate('secret')?.scopes.has('publish'));
  t.notOk(keys.authenticate('secret')?.scopes.has('read'));
  t.equal(keys.authenticate('Secret'), undefined);
  t.throws(() => ApiKeys.fromDocument({}), /expected \{"keys"/);
  t.throws(() => ApiKeys.fromDocument({ keys: [{ tenant_id: 'a.b', key_sha256: 'x', scopes: [] }] }), /tenant_id/);
  t.throws(() => ApiKeys.fromDocument({ keys: [{ tenant_id: 'a', key_sha256: 'abc', scopes: [] }] }), /key_sha256/);
  t.throws(() => ApiKeys.fromDocument({ keys: [{ tenant_id: 'a', key_sha256: 'a'.repeat(64), scopes: ['root'] }] }), /scopes/);
  t.throws(() => ApiKeys.fromFile('/nonexistent.json'), /API_KEYS_FILE/);
  const dev = ApiKeys.devMode('ten_demo');
  t.match(dev.key, /^gw_dev_/);
  t.not(ApiKeys.devMode('ten_demo').key, dev.key, 'dev keys are random');
  t.match(dev.keys.authenticate(dev.key), { tenantId: 'ten_demo' });
});
