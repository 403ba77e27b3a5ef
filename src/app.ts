// buildApp(config, opts) → the gateway as a fastify instance, its plugins loaded (not yet
// listening). Tests build as many as they want, each with its own NATS connection.
//
//   config ─┬─ http ──────────────┬─ contract ─────────┐
//           ├─ auth ──────────────┤                    ├─ rest-routes
//           ├─ bus ───────────────┴─ websocket ────────┤
//           └─ catalogue ──────────────────────────────┘
//
// (src/plugins/: each plugin names its dependencies and closes what it opened.)
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { ApiKeys } from './auth/api-keys.ts';
import type { Catalogue } from './catalogue.ts';
import type { Config } from './config.ts';
import { authPlugin } from './plugins/auth.ts';
import { busPlugin } from './plugins/bus.ts';
import { cataloguePlugin } from './plugins/catalogue.ts';
import { configPlugin } from './plugins/config.ts';
import { contractPlugin } from './plugins/contract.ts';
import { directoryPlugin } from './plugins/directory.ts';
import { corsPlugin } from './plugins/cors.ts';
import { httpPlugin } from './plugins/http.ts';
import { quotasPlugin } from './plugins/quotas.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { idempotencyPlugin } from './plugins/idempotency.ts';
import { restPlugin } from './plugins/rest.ts';
import { uiPlugin } from './plugins/ui.ts';
import { websocketPlugin } from './plugins/websocket.ts';
import { webhooksPlugin } from './plugins/webhooks.ts';
import { clientErrorHandler, problemHandler } from './problem-handler.ts';
import type { QuotaOptions } from './quotas/quotas.ts';

declare module 'fastify' {
  // Always a pino logger here (buildApp makes one or is given one), which has this: hot paths
  // skip building a log record that the level would drop.
  interface FastifyBaseLogger {
    isLevelEnabled(level: string): boolean;
  }
}

export interface BuildOptions {
  /** The API keys to accept; else API_KEYS_FILE's, else dev mode (src/plugins/auth.ts). */
  apiKeys?: ApiKeys;
  /** The event catalogue, already loaded (src/main.ts checks EVENT_TYPES_DIR before starting anything); else loaded from EVENT_TYPES_DIR. */
  catalogue?: Catalogue;
  /** A pino logger to use (tests pass a silent one); else one is made from LOG_LEVEL. */
  logger?: Logger;
  /** Per-tenant limit overrides (the tenant settings store) and the refusal hook (metrics); src/quotas/. */
  quotas?: QuotaOptions;
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger
      ? { loggerInstance: opts.logger as FastifyBaseLogger }
      : {
          logger: {
            level: config.LOG_LEVEL,
            redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]'], censor: '[redacted]' },
          },
        }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow or stalled clients cannot hold sockets: a request (headers and body) must arrive within
    // HTTP_REQUEST_TIMEOUT, its headers within HTTP_HEADERS_TIMEOUT (408 problem, then closed: see
    // clientErrorHandler), an idle keep-alive socket is closed after HTTP_KEEP_ALIVE_TIMEOUT. Node
    // checks these every connectionsCheckingInterval (30 s by default): a quarter of the shorter
    // timeout here. Upgraded WebSocket connections leave Node's HTTP bookkeeping and are not cut.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT,
    http: {
      headersTimeout: Math.min(config.HTTP_HEADERS_TIMEOUT, config.HTTP_REQUEST_TIMEOUT),
      connectionsCheckingInterval: Math.max(100, Math.floor(Math.min(config.HTTP_HEADERS_TIMEOUT, config.HTTP_REQUEST_TIMEOUT) / 4)),
    },
    // Path parameters such as a correlation id may be 128 characters (fastify's default stops at 100).
    routerOptions: { maxParamLength: 256 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // What fastify's router and Node's HTTP parser refuse is a problem document too.
    frameworkErrors: problemHandler,
    clientErrorHandler,
    // Requests that arrive while closing get our own problem+json 503 (src/plugins/http.ts).
    return503OnClosing: false,
  });

  await app.register(configPlugin, { config });
  await app.register(httpPlugin);
  await app.register(corsPlugin);
  await app.register(authPlugin, { apiKeys: opts.apiKeys });
  await app.register(busPlugin);
  await app.register(quotasPlugin, opts.quotas ?? {});
  await app.register(metricsPlugin);
  // Every quota refusal counts in gateway_rate_limited_total (unless the caller hooked it itself).
  if (!opts.quotas?.onRateLimited) app.quotas.setOnRateLimited((tenant, limit) => app.metrics.rateLimited(tenant, limit));
  await app.register(cataloguePlugin, { catalogue: opts.catalogue });
  await app.register(contractPlugin);
  await app.register(websocketPlugin);
  await app.register(directoryPlugin);
  await app.register(webhooksPlugin);
  // Before the routes: it adds its hooks to each state-changing route as the route is registered.
  await app.register(idempotencyPlugin);
  await app.register(restPlugin);
  await app.register(uiPlugin);
  return app;
}
