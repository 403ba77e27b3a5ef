// The contract: the OpenAPI document built from the TypeBox schemas (schemas/openapi.ts) in this
// process, as `app.openapi`, served at /openapi.json and browsable at /docs; and the AsyncAPI
// document of the WebSocket protocol (schemas/asyncapi.ts), served at /asyncapi.json. The committed
// openapi/openapi.json and asyncapi/asyncapi.json are the same documents written by
// `npm run generate`; nothing reads them at runtime.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { buildAsyncApiDocument } from '../../schemas/asyncapi.ts';
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

let builtAsyncApi: Readonly<Record<string, unknown>> | undefined;

/** The AsyncAPI document, built once per process. */
export function asyncApiDocument(): Readonly<Record<string, unknown>> {
  builtAsyncApi ??= buildAsyncApiDocument();
  return builtAsyncApi;
}

/**
 * The server of the document Swagger UI loads from `<docs>/json`: `..` resolves against that URL to
 * the gateway's root however it is reached (any host, port, or a proxy's path prefix), so "Try it
 * out" calls the gateway serving the page.
 */
const RELATIVE_SERVERS = [{ url: '..', description: 'This gateway (relative to the page)' }];

export const contractPlugin = fp(
  async function contract(app) {
    const document = openApiDocument();
    app.decorate('openapi', document);
    app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) => reply.type('application/json').send(document));
    await app.register(swagger, { mode: 'static', specification: { document: document as never } });
    const asyncapi = asyncApiDocument();
    app.get('/asyncapi.json', { schema: { hide: true } }, async (_req, reply) => reply.type('application/json').send(asyncapi));
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      transformSpecificationClone: false,
      transformSpecification: (spec) => ({ ...spec, servers: RELATIVE_SERVERS }),
    });
  },
  { name: 'contract', fastify: '5.x', dependencies: ['http'] },
);
