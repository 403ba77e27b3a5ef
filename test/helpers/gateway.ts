// A gateway built in-process against a test nats-server, with a fixed set of tenants and keys.
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { ApiKeys, sha256 } from '../../src/auth/api-keys.ts';
import { type Config, configWith } from '../../src/config.ts';
import { buildApp } from '../../src/app.ts';
import type { QuotaOptions } from '../../src/quotas/quotas.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Raw test keys; the key file holds only their digests. */
export const KEYS = {
  a: 'key-tenant-a-all',
  aPublish: 'key-tenant-a-publish-only',
  aRead: 'key-tenant-a-read-only',
  aSubscribe: 'key-tenant-a-subscribe-only',
  b: 'key-tenant-b-all',
} as const;

export const KEY_FILE = {
  keys: [
    { tenant_id: 'ten_a', key_sha256: sha256(KEYS.a).toString('hex'), scopes: ['publish', 'subscribe', 'read'] },
    { tenant_id: 'ten_a', key_sha256: sha256(KEYS.aPublish).toString('hex'), scopes: ['publish'] },
    { tenant_id: 'ten_a', key_sha256: sha256(KEYS.aRead).toString('hex'), scopes: ['read'] },
    { tenant_id: 'ten_a', key_sha256: sha256(KEYS.aSubscribe).toString('hex'), scopes: ['subscribe'] },
    { tenant_id: 'ten_b', key_sha256: sha256(KEYS.b).toString('hex'), scopes: ['publish', 'subscribe', 'read'] },
  ],
};

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

export interface TestGateway {
  app: FastifyInstance;
  config: Config;
  /** http://127.0.0.1:<port> once `listen` was asked for. */
  url: string;
}

export async function startGateway(
  t: Teardown,
  natsUrl: string,
  overrides: Partial<Config> = {},
  opts: {
    listen?: boolean;
    logLevel?: string;
    /** A logger of the test's own (e.g. pino writing to a stream the test reads); else pino at `logLevel`. */
    logger?: Logger;
    /** Called on the built app before it is ready (e.g. to add a route of the test's own). */
    beforeReady?: (app: FastifyInstance) => void;
    /** Per-tenant limit overrides and the refusal hook (src/quotas/). */
    quotas?: QuotaOptions;
  } = {},
): Promise<TestGateway> {
  // No metrics listener unless a test asks for one (METRICS_PORT): many gateways share the host.
  const config = configWith({ NATS_URL: [natsUrl], PUBLISH_TIMEOUT_MS: 2000, METRICS_PORT: 0, ...overrides });
  const app = await buildApp(config, {
    apiKeys: ApiKeys.fromDocument(KEY_FILE),
    logger: opts.logger ?? pino({ level: opts.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(opts.quotas ? { quotas: opts.quotas } : {}),
  });
  t.teardown(() => app.close());
  opts.beforeReady?.(app);
  let url = '';
  if (opts.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  } else {
    await app.ready();
  }
  return { app, config, url };
}

/** The design's example envelope, minus what the server fills. */
export function sampleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'order.provisioned',
    source: 'provisioning-service',
    data: { order_id: 'ord_xyz789', resources: [{ id: 'res_vm_001', type: 'virtual_machine', status: 'running' }] },
    ...overrides,
  };
}
