// buildServer(config) → a ready fastify instance: the REST API mounted from openapi/openapi.json,
// the docs, and the error handling. Tests build as many as they want, each with its own NATS
// connection.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import type { Logger } from 'pino';
import { handlers } from '../routes/index.ts';
import { websocketOptions, wsRoute } from '../routes/ws.ts';
import type { ApiKeys, Scope } from './auth/api-keys.ts';
import { requireScope } from './auth/authenticate.ts';
import { Bus } from './bus/index.ts';
import { PROJECT_ROOT } from './bus/nats-server-binary.ts';
import { type Catalogue, loadCatalogue } from './catalogue.ts';
import type { Config } from './config.ts';
import { GatewayError } from './errors.ts';
import { EventPreparer } from './event-preparer.ts';
import { notFoundHandler, problemHandler } from './problem-handler.ts';
import { validatorCompiler } from './validation.ts';

export interface Gateway {
  config: Config;
  bus: Bus;
  apiKeys: ApiKeys;
  catalogue: Catalogue;
  preparer: EventPreparer;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway;
  }
  // Always a pino logger here (buildServer makes one or is given one), which has this: hot paths
  // skip building a log record that the level would drop.
  interface FastifyBaseLogger {
    isLevelEnabled(level: string): boolean;
  }
}

export const OPENAPI_PATH = join(PROJECT_ROOT, 'openapi', 'openapi.json');

export interface BuildOptions {
  apiKeys: ApiKeys;
  /** A pino logger to use (tests pass a silent one); else one is made from LOG_LEVEL. */
  logger?: Logger;
}

type Operation = { operationId?: string; 'x-required-scope'?: Scope | 'any' };

export async function buildServer(config: Config, opts: BuildOptions): Promise<FastifyInstance> {
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
    // Path parameters such as a correlation id may be 128 characters (fastify's default stops at 100).
    routerOptions: { maxParamLength: 256 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Requests that arrive while closing get our own problem+json 503 (hook below).
    return503OnClosing: false,
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(problemHandler);
  app.setNotFoundHandler(notFoundHandler);
  // JSON only: anything else is a 415, not a string handed to a handler.
  app.removeContentTypeParser('text/plain');
  // Per-request hooks are callback-style: an async hook costs a promise and microtask hops on
  // every request, which shows in the single-POST benchmark.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('X-Request-Id', req.id);
    done(null, payload);
  });
  // One log line a request, with its outcome.
  app.addHook('onResponse', (req, reply, done) => {
    if (req.log.isLevelEnabled('info')) {
      req.log.info(
        // A WebSocket ticket is a credential: never logged.
        {
          method: req.method,
          url: req.url.replace(/([?&]ticket=)[^&]*/g, '$1[redacted]'),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    }
    done();
  });
  app.decorateRequest('principal', null);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    // Ends keep-alive connections too, so the server can finish closing.
    reply.header('connection', 'close');
    done(new GatewayError('GW_SHUTTING_DOWN', 'The gateway is shutting down', { retryAfter: config.RETRY_AFTER_SECONDS }));
  });

  const catalogue = loadCatalogue(config.EVENT_TYPES_DIR);
  const bus = await Bus.connect(config, app.log as Logger);
  app.decorate('gateway', { config, bus, apiKeys: opts.apiKeys, catalogue, preparer: new EventPreparer(catalogue) });
  app.addHook('onClose', async () => {
    await bus.close();
  });

  const specification = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  };
  const scopes = new Map<string, Scope | 'any' | undefined>();
  for (const ops of Object.values(specification.paths)) {
    for (const op of Object.values(ops)) if (op.operationId) scopes.set(op.operationId, op['x-required-scope']);
  }
  await app.register(openapiGlue, {
    // openapi-glue warns about a body parser for every response media type (application/problem+json): noise.
    logLevel: 'error',
    specification,
    operationResolver: (operationId: string) => {
      const handler = handlers[operationId];
      if (!handler) throw new Error(`No handler in routes/ for operationId ${operationId}`);
      const scope = scopes.get(operationId);
      return (scope ? { handler, onRequest: requireScope(opts.apiKeys, scope) } : { handler }) as never;
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) => reply.type('application/json').send(specification));
  await app.register(swagger, { mode: 'static', specification: { document: specification as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, websocketOptions(config));
  await app.register(wsRoute);

  return app;
}
