// The REST API: every operation of the contract's OpenAPI document mounted by fastify-openapi-glue
// onto its handler in routes/ (handler name = operationId), behind the scope the operation names
// (`x-required-scope`). Decorates `app.ackTokens`, the signer of HTTP consumer ack tokens.

import { errorCodes } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import fp from 'fastify-plugin';
import { handlers, preValidation } from '../../routes/index.ts';
import { AckTokens } from '../ack-tokens.ts';
import type { Scope } from '../auth/api-keys.ts';
import { requireScope } from '../auth/authenticate.ts';
import { requireScopeOrTicket } from '../websocket/tickets.ts';

declare module 'fastify' {
  interface FastifyInstance {
    ackTokens: AckTokens;
  }
}

export const restPlugin = fp(
  async function restRoutes(app) {
    const { config, apiKeys, openapi } = app;
    if (!config.ACK_TOKEN_SECRET) {
      app.log.warn('ACK_TOKEN_SECRET is not set: HTTP consumer ack tokens only work on the instance that issued them');
    }
    // Unset, a random secret that lives as long as this instance.
    app.decorate('ackTokens', new AckTokens(config.ACK_TOKEN_SECRET));

    const scopes = new Map<string, Scope | 'any' | undefined>();
    // Operations that take a single-use ticket instead of the key (browsers' EventSource).
    const ticketed = new Set<string>();
    for (const ops of Object.values(openapi.paths)) {
      for (const op of Object.values(ops)) if (op.operationId) scopes.set(op.operationId, op['x-required-scope']);
      for (const op of Object.values(ops) as { operationId?: string; 'x-accepts-ticket'?: boolean }[]) {
        if (op.operationId && op['x-accepts-ticket']) ticketed.add(op.operationId);
      }
    }
    const byOperation: Record<string, unknown> = handlers;
    // fastify-openapi-glue (4.11.4, lib/Parser.v3.js parseContent) collects the media types of
    // responses together with those of request bodies, and at start warns "ContentTypeParser for
    // '<type>' not found" for each one without a body parser: `application/problem+json`, which is
    // only ever an answer. (It logs on this instance's logger, so a `logLevel` register option cannot
    // quiet it: the plugin is not encapsulated.) This parser satisfies that check and refuses such
    // bodies exactly as an unknown media type is refused (415 GW_UNSUPPORTED_MEDIA_TYPE).
    app.addContentTypeParser('application/problem+json', (_req, _payload, done) => {
      done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('application/problem+json'), undefined);
    });
    // The same for `text/event-stream`, only ever an answer (GET /v1/events/stream).
    app.addContentTypeParser('text/event-stream', (_req, _payload, done) => {
      done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/event-stream'), undefined);
    });
    await app.register(openapiGlue, {
      specification: openapi,
      operationResolver: (operationId: string) => {
        const handler = byOperation[operationId];
        if (!handler) throw new Error(`No handler in routes/ for operationId ${operationId}`);
        const scope = scopes.get(operationId);
        const hooks = preValidation[operationId as keyof typeof preValidation];
        const onRequest =
          scope && scope !== 'any' && ticketed.has(operationId)
            ? requireScopeOrTicket(apiKeys, app.wsSubscriptions.tickets, scope)
            : scope
              ? requireScope(apiKeys, scope)
              : undefined;
        return {
          handler,
          ...(onRequest ? { onRequest } : {}),
          ...(hooks ? { preValidation: hooks } : {}),
        } as never;
      },
    });
  },
  { name: 'rest-routes', fastify: '5.x', dependencies: ['config', 'http', 'auth', 'bus', 'catalogue', 'contract', 'websocket'] },
);
