// The REST contract: the OpenAPI document built from the TypeBox schemas (schemas/openapi.ts) in
// this process, as `app.openapi`, served at /openapi.json and browsable at /docs. The committed
// openapi/openapi.json is the same document written by `npm run generate:openapi`; nothing reads
// it at runtime.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { buildOpenApiDocument } from '../../schemas/openapi.ts';

export type OpenApiDocument = Readonly<Record<string, unknown>> & {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
};
export interface OpenApiOperation {
  readonly operationId?: string;
  readonly 'x-required-scope'?: 'publish' | 'subscribe' | 'read' | 'any';
}

declare module 'fastify' {
  interface FastifyInstance {
    openapi: OpenApiDocument;
  }
}

let built: OpenApiDocument | undefined;

/**
 * The document, built once per process (about 10 ms; every gateway a test builds shares it).
 * Consumers must not modify it: fastify-openapi-glue clones it before resolving references.
 */
export function openApiDocument(): OpenApiDocument {
  built ??= buildOpenApiDocument() as OpenApiDocument;
  return built;
}

export const contractPlugin = fp(
  async function contract(app) {
    const document = openApiDocument();
    app.decorate('openapi', document);
    app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) => reply.type('application/json').send(document));
    await app.register(swagger, { mode: 'static', specification: { document: document as never } });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'contract', fastify: '5.x', dependencies: ['http'] },
);
