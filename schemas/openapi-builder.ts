// Builds an OpenAPI 3.1 document from operation descriptions whose bodies are TypeBox schemas.
// Every schema with a `title` becomes a named component and is referenced by `$ref`, so generated
// clients get real type names. Problem responses are derived from each operation's error codes.
import type { TObject, TSchema } from '@sinclair/typebox';
import type { Scope } from './auth.ts';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import {
  IDEMPOTENCY_KEY_PARAMETER,
  IDEMPOTENT_REPLAYED_HEADER,
  IDEMPOTENT_REPLAYED_RESPONSE_HEADER,
  takesIdempotencyKey,
} from './idempotency.ts';

export type { Scope };

export interface ParameterSpec {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  description: string;
  schema: TSchema | Record<string, unknown>;
  example?: unknown;
}

/**
 * The parameters of one place (`query`, `path`, `header`) from the TypeBox object of their values,
 * in its property order, so the handler's type (`Static<typeof schema>`) and the document come
 * from one schema. `docs` describes each property.
 */
export function parametersOf<W extends ParameterSpec['in'], T extends TObject>(
  where: W,
  schema: T,
  docs: { [K in keyof T['properties'] & string]: { description: string; example?: unknown } },
): ParameterSpecOf<W, T>[] {
  return Object.keys(schema.properties).map((name) => {
    const doc = docs[name as keyof typeof docs];
    const spec: ParameterSpec = { name, in: where, description: doc.description, schema: schema.properties[name] as TSchema };
    if (doc.example !== undefined) spec.example = doc.example;
    return spec as ParameterSpecOf<W, T>;
  });
}

/** One parameter of `parametersOf` with its literal name and schema, so handler types can read them (routes/handler.ts). */
export type ParameterSpecOf<W extends ParameterSpec['in'], T extends TObject> = {
  [K in keyof T['properties'] & string]: ParameterSpec & { name: K; in: W; schema: T['properties'][K] };
}[keyof T['properties'] & string];

export interface ResponseSpec {
  description: string;
  schema?: TSchema;
  example?: unknown;
  /** The media type of the body (default `application/json`), e.g. `text/event-stream` for a stream. */
  mediaType?: string;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
  /** Other media types of the same answer (chosen by `Accept` or a parameter), besides `application/json`. */
  otherContent?: Record<string, { schema: TSchema; example?: unknown }>;
}

/** A request body in another media type than `application/json` (e.g. CloudEvents' structured mode). */
export interface MediaSpec {
  schema: TSchema;
  examples?: Record<string, { summary: string; value: unknown }>;
}

export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: string;
  /** The scope an API key needs; `'any'` for any valid key; omitted for unauthenticated routes. */
  scope?: Scope | 'any';
  parameters?: readonly ParameterSpec[];
  requestBody?: {
    description: string;
    schema: TSchema;
    examples: Record<string, { summary: string; value: unknown }>;
    /** Other media types the operation takes, each validated against its own schema. */
    otherContent?: Record<string, MediaSpec>;
  };
  responses: Record<number, ResponseSpec>;
  /** Every error code the operation can answer with. */
  errors: readonly ErrorCode[];
  /**
   * A single-use ticket (`?ticket=`, POST /v1/ws-tickets) is accepted instead of the key, for
   * browsers, which cannot send `Authorization` on a WebSocket or an EventSource.
   */
  ticket?: boolean;
}

const RETRY_AFTER = {
  description: 'Seconds to wait before retrying.',
  schema: { type: 'integer', minimum: 1 },
};

/** The fields of draft-ietf-httpapi-ratelimit-headers on a GW_RATE_LIMITED answer (docs/operations.md). */
const RATE_LIMIT_HEADERS = {
  RateLimit: {
    description: 'The quota left, as a structured field: `"<limit>";r=<remaining>;t=<seconds until it refills>`, e.g. `"publish";r=0;t=1`.',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description:
      'The limit, as a structured field: `"publish";q=100;w=1` (a rate per window of `w` seconds) or `"ws_connections";q=10;qu="concurrent-requests"`.',
    schema: { type: 'string' },
  },
};

const REQUEST_ID = { description: 'Request id, also in logs and in problem bodies.', schema: { type: 'string' } };

/** A JSON copy of a schema without TypeBox's symbol keys. */
export function plain<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T;
}

/**
 * `node` with every sub-schema whose title names a component (in `components`) replaced by a
 * `$ref` to it; `root` itself is kept (it is the component). Examples are left as they are.
 */
export function componentRefs(node: unknown, components: { has(title: string): boolean }, root = false): unknown {
  if (Array.isArray(node)) return node.map((n) => componentRefs(n, components));
  if (node === null || typeof node !== 'object') return node;
  const title = (node as { title?: unknown }).title;
  if (!root && typeof title === 'string' && components.has(title)) return { $ref: `#/components/schemas/${title}` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'examples' || k === 'example' ? v : componentRefs(v, components);
  return out;
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  tags: { name: string; description: string }[];
}

/** What any operation that talks to NATS can answer besides its own codes (listed in its spec). */
export const BUS_ERRORS = ['GW_NATS_UNAVAILABLE', 'GW_PUBLISH_TIMEOUT'] as const;

/**
 * Codes an operation can answer whatever its spec lists, because the server produces them around
 * the handler: authentication (onRequest), parameter and body parsing and validation, and the error
 * handler's catch-all. Listing them here keeps every operation's documented responses complete.
 */
export function impliedErrors(op: OperationSpec): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (op.scope) codes.push('GW_UNAUTHORIZED');
  if (op.scope && op.scope !== 'any') codes.push('GW_FORBIDDEN_SCOPE');
  if (op.scope) codes.push('GW_API_KEY_EXPIRED');
  // Admin operations act for the operator, not for the key's tenant (docs/admin.md).
  if (op.scope && op.scope !== 'admin') codes.push('GW_TENANT_DISABLED');
  if (op.ticket) codes.push('GW_INVALID_TICKET');
  if (op.parameters?.length) codes.push('GW_INVALID_REQUEST');
  if (op.requestBody) {
    codes.push('GW_MALFORMED_JSON', 'GW_INVALID_REQUEST', 'GW_PAYLOAD_TOO_LARGE', 'GW_UNSUPPORTED_MEDIA_TYPE', 'GW_VALIDATION_FAILED');
  }
  // Every request that arrives while the server closes is refused (src/plugins/http.ts, onRequest).
  codes.push('GW_INTERNAL', 'GW_SHUTTING_DOWN');
  // The Idempotency-Key header (src/plugins/idempotency.ts): malformed, reused for another request, in flight.
  if (takesIdempotencyKey(op.method, op.path, op.operationId)) {
    // With the header the key is claimed in NATS KV, so the bus's unavailability can answer too.
    codes.push('GW_INVALID_REQUEST', 'GW_IDEMPOTENCY_KEY_MISMATCH', 'GW_IDEMPOTENCY_IN_FLIGHT', 'GW_NATS_UNAVAILABLE', 'GW_NOT_READY');
  }
  return codes;
}

/**
 * An example value built from a schema's own `examples`, `const`, `enum` and types, for responses
 * whose spec gives none: swagger-ui and generated docs then show a complete, valid answer.
 */
export function exampleFromSchema(schema: unknown, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || depth > 8) return undefined;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if ('example' in s) return s.example;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const variants = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants))
    return exampleFromSchema(variants.find((v) => (v as { type?: unknown }).type !== 'null') ?? variants[0], depth + 1);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
        const value = exampleFromSchema(sub, depth + 1);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case 'array': {
      const item = exampleFromSchema(s.items, depth + 1);
      return item === undefined ? [] : [item];
    }
    case 'string':
      return s.format === 'date-time' ? '2026-03-15T10:05:22Z' : 'string';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
  }
  return undefined;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * curl commands for an operation, one per request body example, that work when pasted into a shell
 * once GATEWAY_URL and GATEWAY_API_KEY are exported. A test runs them against a live gateway.
 */
export function curlSamples(op: OperationSpec): { lang: string; label: string; source: string }[] {
  let path = op.path;
  const query: string[] = [];
  const headers: string[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in === 'path')
      path = path.replace(`{${p.name}}`, p.example === undefined ? `<${p.name}>` : encodeURIComponent(String(p.example)));
    else if (p.in === 'query' && p.required && p.example !== undefined) {
      query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(String(p.example))}`);
    }
  }
  if (op.scope) headers.push('-H "Authorization: Bearer $GATEWAY_API_KEY"');
  const url = `"\${GATEWAY_URL:-http://127.0.0.1:8080}${path}${query.length ? `?${query.join('&')}` : ''}"`;
  // A stream is shown as it arrives (-N: no output buffering).
  const streams = Object.values(op.responses).some((r) => r.mediaType === 'text/event-stream');
  const base = [`curl -sS${streams ? 'N' : ''}${op.method === 'get' ? '' : ` -X ${op.method.toUpperCase()}`} ${url}`, ...headers];
  if (!op.requestBody) return [{ lang: 'Shell', label: 'curl', source: base.join(' \\\n  ') }];
  return Object.entries(op.requestBody.examples).map(([name, example]) => ({
    lang: 'Shell',
    label: `curl (${name})`,
    source: [...base, "-H 'Content-Type: application/json'", `--data-binary ${shellQuote(JSON.stringify(example.value))}`].join(' \\\n  '),
  }));
}

export function buildDocument(info: DocumentInfo, operations: readonly OperationSpec[], components: TSchema[]): Record<string, unknown> {
  const named = new Map<string, unknown>();
  for (const c of components) {
    const title = (c as { title?: string }).title;
    if (!title) throw new Error('component schemas need a title');
    named.set(title, plain(c));
  }

  const refs = (node: unknown, root = false) => componentRefs(node, named, root);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      const idempotent = takesIdempotencyKey(op.method, op.path, op.operationId);
      const response: Record<string, unknown> = {
        description: r.description,
        headers: {
          'X-Request-Id': REQUEST_ID,
          ...(idempotent ? { [IDEMPOTENT_REPLAYED_HEADER]: IDEMPOTENT_REPLAYED_RESPONSE_HEADER } : {}),
          ...r.headers,
        },
      };
      if (r.schema) {
        const media: Record<string, unknown> = { schema: refs(plain(r.schema)) };
        const example = r.example ?? exampleFromSchema(plain(r.schema));
        if (example !== undefined) media.example = example;
        response.content = { [r.mediaType ?? 'application/json']: media };
      }
      for (const [type, other] of Object.entries(r.otherContent ?? {})) {
        const media: Record<string, unknown> = { schema: refs(plain(other.schema)) };
        if (other.example !== undefined) media.example = other.example;
        response.content = { ...(response.content as object), [type]: media };
      }
      responses[status] = response;
    }
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of new Set([...op.errors, ...impliedErrors(op)])) {
      const status = ERROR_CODES[code].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      const examples: Record<string, unknown> = {};
      for (const code of codes) {
        const spec = ERROR_CODES[code];
        examples[code] = {
          summary: spec.title,
          value: {
            type: spec.type,
            title: spec.title,
            status,
            detail: spec.title,
            code,
            instance: op.path,
            request_id: 'req-1',
          },
        };
      }
      const headers: Record<string, unknown> = { 'X-Request-Id': REQUEST_ID };
      if (status === 503) headers['Retry-After'] = RETRY_AFTER;
      if (codes.includes('GW_RATE_LIMITED')) Object.assign(headers, { 'Retry-After': RETRY_AFTER, ...RATE_LIMIT_HEADERS });
      responses[String(status)] = {
        description: `${codes.map((c) => `\`${c}\``).join(', ')}: ${codes.map((c) => ERROR_CODES[c].title.toLowerCase()).join('; ')}.`,
        headers,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, examples } },
      };
    }

    const operation: Record<string, unknown> = {
      operationId: op.operationId,
      summary: op.summary,
      description: op.description,
      tags: [op.tag],
    };
    if (op.scope) {
      operation.security = [{ bearerAuth: op.scope === 'any' ? [] : [op.scope] }];
      operation['x-required-scope'] = op.scope;
      if (op.ticket) {
        (operation.security as unknown[]).push({ ticket: [] });
        operation['x-accepts-ticket'] = true;
      }
    } else {
      operation.security = [];
    }
    if (op.parameters) {
      operation.parameters = op.parameters.map((p) => {
        const out: Record<string, unknown> = {
          name: p.name,
          in: p.in,
          required: p.in === 'path' ? true : (p.required ?? false),
          description: p.description,
          schema: refs(plain(p.schema)),
        };
        if (p.example !== undefined) out.example = p.example;
        return out;
      });
    }
    if (takesIdempotencyKey(op.method, op.path, op.operationId)) {
      operation.parameters = [...((operation.parameters as unknown[]) ?? []), { $ref: '#/components/parameters/IdempotencyKey' }];
    }
    if (op.requestBody) {
      operation.requestBody = {
        required: true,
        description: op.requestBody.description,
        content: {
          'application/json': { schema: refs(plain(op.requestBody.schema)), examples: op.requestBody.examples },
          ...Object.fromEntries(
            Object.entries(op.requestBody.otherContent ?? {}).map(([type, media]) => [
              type,
              { schema: refs(plain(media.schema)), ...(media.examples ? { examples: media.examples } : {}) },
            ]),
          ),
        },
      };
    }
    operation.responses = responses;
    operation['x-codeSamples'] = curlSamples(op);
    paths[op.path] = { ...paths[op.path], [op.method]: operation };
  }

  const schemas: Record<string, unknown> = {};
  for (const [title, schema] of [...named].sort((a, b) => a[0].localeCompare(b[0]))) schemas[title] = refs(schema, true);

  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      description: info.description,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'A gateway running locally (`npm start`).' }],
    tags: info.tags,
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas,
      parameters: { IdempotencyKey: IDEMPOTENCY_KEY_PARAMETER },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A tenant API key: `Authorization: Bearer <key>`. Keys carry scopes (`publish`, `subscribe`, `read`, `admin`); an operation names the one it needs.',
        },
        ticket: {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description:
            'A single-use ticket from `POST /v1/ws-tickets` (valid for WS_TICKET_TTL, the scopes of the key that asked for it), for browsers, which cannot send `Authorization` on a WebSocket or an EventSource. Accepted only by operations that list it.',
        },
      },
    },
  };
}
