// The gateway's HTTP conventions for every route: strict body validation, every error as
// application/problem+json, JSON bodies only, an X-Request-Id on every answer, one log line a
// request, and a 503 for requests that arrive while the server closes.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from '../../schemas/cloudevents.ts';
import { GatewayError } from '../errors.ts';
import { jsonDepthExceeds } from '../json-depth.ts';
import { notFoundHandler, problemHandler } from '../problem-handler.ts';
import { validatorCompiler } from '../validation.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Starts the drain period of a shutdown (src/main.ts, SHUTDOWN_DRAIN_MS): `/readyz` answers
     * 503 so load balancers move away, requests are still served, and every answer closes its
     * connection so no idle keep-alive connection is left for the listener's close to cut.
     */
    beginDrain(): void;
    /** True from `beginDrain` (or the start of closing) on. */
    readonly draining: boolean;
  }
}

export const httpPlugin = fp(
  async function http(app) {
    const { RETRY_AFTER_SECONDS } = app.config;
    app.setValidatorCompiler(validatorCompiler);
    app.setErrorHandler(problemHandler);
    // Routes by path, for a 405 (with Allow) instead of a 404 when only the method is wrong.
    const routes: { pattern: RegExp; methods: Set<string> }[] = [];
    app.addHook('onRoute', (route) => {
      const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);
      let entry = routes.find((r) => r.pattern.source === pattern.source);
      if (!entry) {
        entry = { pattern, methods: new Set() };
        routes.push(entry);
      }
      for (const m of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(m);
    });
    app.setNotFoundHandler(notFoundHandler((path) => [...(routes.find((r) => r.pattern.test(path))?.methods ?? [])]));
    // JSON only: anything else is a 415, not a string handed to a handler.
    app.removeContentTypeParser('text/plain');
    // fastify's JSON parser (with its prototype-poisoning checks), behind a depth check: a body
    // nested deeper than BODY_MAX_DEPTH is refused before it is parsed, so nothing recursive
    // (validation, filters, serialisation) ever sees it (src/json-depth.ts).
    const parseJson = app.getDefaultJsonParser('error', 'error');
    const { BODY_MAX_DEPTH } = app.config;
    app.removeContentTypeParser('application/json');
    // CloudEvents' structured and batched modes are JSON too (src/cloudevents.ts maps them).
    app.addContentTypeParser(['application/json', CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON], { parseAs: 'string' }, (req, body, done) => {
      if (jsonDepthExceeds(body as string, BODY_MAX_DEPTH)) {
        done(new GatewayError('GW_BODY_TOO_DEEP', `The body nests objects and arrays more than ${BODY_MAX_DEPTH} levels deep`), undefined);
        return;
      }
      parseJson(req, body as string, done);
    });
    // A request with no body and no Content-Type is not parsed at all (fastify hands the handler
    // `undefined`): on a route that takes a body, that is an empty body, a 400 like `Content-Type:
    // application/json` with nothing after it. Added to those routes only, at registration.
    app.addHook('onRoute', (route) => {
      if (!route.schema?.body) return;
      const hooks = route.preValidation;
      route.preValidation = [requireBody, ...(hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks])];
    });
    // Per-request hooks are callback-style: an async hook costs a promise and microtask hops on
    // every request, which shows in the single-POST benchmark.
    app.addHook('onSend', (req, reply, payload, done) => {
      reply.header('X-Request-Id', req.id);
      if (draining) reply.header('connection', 'close');
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
    // Requests that arrive while closing get our own problem+json 503 (buildApp turns fastify's
    // return503OnClosing off).
    let closing = false;
    let draining = false;
    app.decorate('beginDrain', () => {
      draining = true;
    });
    app.decorate('draining', {
      getter: () => draining || closing,
    });
    app.addHook('preClose', async () => {
      closing = true;
      draining = true;
    });
    app.addHook('onRequest', (_req, reply, done) => {
      if (!closing) {
        done();
        return;
      }
      // Ends keep-alive connections too, so the server can finish closing.
      reply.header('connection', 'close');
      done(new GatewayError('GW_SHUTTING_DOWN', 'The gateway is shutting down', { retryAfter: RETRY_AFTER_SECONDS }));
    });
  },
  { name: 'http', fastify: '5.x', dependencies: ['config'] },
);

function requireBody(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (req.body === undefined) done(new GatewayError('GW_MALFORMED_JSON', 'The body is empty; send a JSON document'));
  else done();
}
