// The gateway's REST contract. The gateway builds the document at start (src/plugins/contract.ts)
// and fastify-openapi-glue mounts it; `npm run generate:openapi` writes the same document to
// openapi/openapi.json, and a test fails when that committed copy is stale.
import { Type } from '@sinclair/typebox';
import { BUILTIN_CATALOGUE } from './catalogue.ts';
import {
  BatchItemFailed,
  BatchItemStored,
  BatchRequest,
  BatchResult,
  ErrorCode,
  EventTypeInfo,
  EventTypeList,
  FieldError,
  Health,
  Problem,
  PublishResult,
  Readiness,
} from './api.ts';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON, CloudEvent, CloudEventBatch, EventFormat } from './cloudevents.ts';
import { CONSUMER_COMPONENTS, CONSUMER_OPERATIONS } from './consumers.ts';
import { ADMIN_COMPONENTS, ADMIN_OPERATIONS } from './admin.ts';
import { DEAD_LETTER_COMPONENTS, DEAD_LETTER_OPERATIONS } from './dead-letters.ts';
import { EventEnvelope, EventInput } from './envelope.ts';
import { CorrelationId } from './identifiers.ts';
import { HISTORY_COMPONENTS, HISTORY_OPERATIONS } from './history.ts';
import { BUS_ERRORS, buildDocument, type OperationSpec, type ParameterSpec } from './openapi-builder.ts';
import { WS_OPERATIONS, WsTicket } from './websocket.ts';
import { SSE_COMPONENTS, SSE_OPERATIONS } from './sse.ts';
import { WEBHOOK_COMPONENTS, WEBHOOK_DELIVERY_SECTION, WEBHOOK_OPERATIONS } from './webhooks.ts';

// Each operation lists its own error codes; those of authentication, parsing and the catch-all are
// added by impliedErrors (schemas/openapi-builder.ts).

const PUBLISH_HEADERS: ParameterSpec[] = [
  {
    name: 'X-Correlation-Id',
    in: 'header',
    description: 'Correlation id for events that do not carry `metadata.correlation_id`; defaults to the event id.',
    schema: Type.String({ pattern: CorrelationId.pattern }),
    example: 'req_abc123',
  },
  {
    name: 'traceparent',
    in: 'header',
    description: 'W3C trace context; its trace id fills `metadata.trace_id` when the event has none.',
    schema: Type.String({ maxLength: 256 }),
    example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
];

/** The headers of a binary-mode CloudEvent (`POST /v1/events` with a JSON body that is the event's `data`). */
const CLOUDEVENT_BINARY_HEADERS: ParameterSpec[] = [
  {
    name: 'ce-specversion',
    in: 'header',
    description:
      'Binary-mode CloudEvent (docs/cloudevents.md): present, the body is the `data` of the event and its attributes are `ce-*` headers (`ce-id`, `ce-type`, `ce-source` required; `ce-time`, `ce-tenantid`, `ce-correlationid`, ... optional). Only `1.0`.',
    schema: Type.String({ maxLength: 16 }),
    example: '1.0',
  },
  { name: 'ce-id', in: 'header', description: 'Binary mode: the event id.', schema: Type.String({ maxLength: 1024 }) },
  { name: 'ce-type', in: 'header', description: 'Binary mode: the event type.', schema: Type.String({ maxLength: 1024 }) },
  { name: 'ce-source', in: 'header', description: 'Binary mode: the event source.', schema: Type.String({ maxLength: 1024 }) },
];

const cloudEventExample = (type: string, id: string) => ({
  specversion: '1.0',
  id,
  source: 'docs-example',
  type,
  datacontenttype: 'application/json',
  data: BUILTIN_CATALOGUE[type]?.example,
});

const example = (type: string) => ({
  type,
  source: 'docs-example',
  data: BUILTIN_CATALOGUE[type]?.example,
});

export const CORE_OPERATIONS = [
  {
    method: 'post',
    path: '/v1/events',
    operationId: 'publishEvent',
    summary: 'Publish one event',
    description:
      "Validates the envelope and its `data` against the catalogue, stores the event in JetStream under the key's tenant, and answers once JetStream acknowledged it. " +
      'Publishing the same `id` again within the duplicate window stores nothing new and answers `duplicate: true` with the original `seq`, so retrying after a `503` is always safe when the event has an `id`.',
    tag: 'publish',
    scope: 'publish',
    parameters: [...PUBLISH_HEADERS, ...CLOUDEVENT_BINARY_HEADERS],
    requestBody: {
      description:
        'An event envelope. `id`, `timestamp`, `tenant_id`, `version` and `metadata` may be omitted. ' +
        'Or a CloudEvent: structured mode as `application/cloudevents+json`, binary mode as `application/json` data with `ce-*` headers (docs/cloudevents.md).',
      schema: EventInput,
      otherContent: {
        [CLOUDEVENTS_JSON]: {
          schema: CloudEvent,
          examples: { structured: { summary: 'A CloudEvent in structured mode', value: cloudEventExample('order.created', 'evt_ce_1') } },
        },
      },
      examples: {
        // First, so "Try it out" in /docs works with any tenant's key (the design's example names a tenant).
        minimal: { summary: 'Only what the server cannot fill', value: example('order.created') },
        full: {
          summary: "The design's example envelope (its tenant_id must be your key's tenant)",
          value: (EventInput as { examples: unknown[] }).examples[0],
        },
      },
    },
    responses: {
      202: {
        description: 'Stored (or already stored: `duplicate: true`).',
        schema: PublishResult,
        example: { id: 'evt_abc123', seq: 42, stream: 'EVENTS', duplicate: false },
      },
    },
    errors: ['GW_TENANT_MISMATCH', 'GW_UNKNOWN_EVENT_TYPE', 'GW_UNSUPPORTED_VERSION', ...BUS_ERRORS, 'GW_RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/v1/events/batch',
    operationId: 'publishEventBatch',
    summary: 'Publish up to BATCH_MAX_EVENTS events',
    description:
      'Each event is validated and stored on its own: valid events are stored even when others fail. ' +
      'The answer has one result per input, in input order: `{id, seq, duplicate}` when stored, `{index, error}` when not. ' +
      'A request-level problem (auth, malformed body, too many events) rejects the whole batch.',
    tag: 'publish',
    scope: 'publish',
    parameters: PUBLISH_HEADERS,
    requestBody: {
      description:
        '`{"events": [...]}` with 1 to BATCH_MAX_EVENTS (default 500) envelopes, or (`application/cloudevents-batch+json`) a JSON array of as many structured CloudEvents.',
      schema: BatchRequest,
      otherContent: {
        [CLOUDEVENTS_BATCH_JSON]: {
          schema: CloudEventBatch,
          examples: {
            batch: {
              summary: 'Two CloudEvents',
              value: [cloudEventExample('order.created', 'evt_ce_2'), cloudEventExample('order.validated', 'evt_ce_3')],
            },
          },
        },
      },
      examples: {
        saga: {
          summary: 'Two steps of an order saga',
          value: {
            events: [
              { ...example('order.created'), metadata: { correlation_id: 'req_abc123' } },
              { ...example('order.validated'), metadata: { correlation_id: 'req_abc123' } },
            ],
          },
        },
      },
    },
    responses: {
      200: {
        description: 'Every event was attempted; `failed` counts the ones not stored.',
        schema: BatchResult,
        example: {
          results: [
            { id: 'evt_1', seq: 43, duplicate: false },
            {
              index: 1,
              error: {
                code: 'GW_VALIDATION_FAILED',
                message: 'data does not match the schema of order.validated',
                errors: [{ pointer: '/data/order_id', message: 'is required', keyword: 'required' }],
              },
            },
          ],
          failed: 1,
        },
      },
    },
    errors: ['GW_BATCH_TOO_LARGE', 'GW_NATS_UNAVAILABLE', 'GW_RATE_LIMITED'],
  },
  {
    method: 'get',
    path: '/v1/event-types',
    operationId: 'listEventTypes',
    summary: 'The event catalogue',
    description:
      'Every event type the gateway accepts, with its current version and the JSON Schema of its `data`. Any valid key may read it.',
    tag: 'catalogue',
    scope: 'any',
    responses: {
      200: {
        description: 'The catalogue.',
        schema: EventTypeList,
        example: {
          types: [
            {
              type: 'order.created',
              version: '1.0',
              description: 'New order submitted.',
              builtin: true,
              schema: { type: 'object', required: ['order_id'], properties: { order_id: { type: 'string' } }, additionalProperties: true },
            },
          ],
        },
      },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness',
    description: 'Answers 200 while the process is alive.',
    tag: 'operations',
    responses: { 200: { description: 'Alive.', schema: Health, example: { status: 'ok' } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness',
    description:
      'Answers 200 when NATS is connected and the event stream answers (within a second), `503` otherwise: also before the first connection to NATS, and from `SIGTERM` on, while the gateway still serves for `SHUTDOWN_DRAIN_MS` so load balancers move away.',
    tag: 'operations',
    responses: { 200: { description: 'Ready.', schema: Readiness, example: { status: 'ready', nats: true, stream: true } } },
    errors: ['GW_NOT_READY'],
  },
] as const satisfies readonly OperationSpec[];

/** Schemas that get a name of their own in `components.schemas`. */
export const CORE_COMPONENTS = [
  EventInput,
  EventEnvelope,
  PublishResult,
  BatchRequest,
  BatchResult,
  BatchItemStored,
  BatchItemFailed,
  EventTypeInfo,
  EventTypeList,
  Problem,
  ErrorCode,
  FieldError,
  Health,
  Readiness,
  CloudEvent,
  CloudEventBatch,
  EventFormat,
];

export const OPERATIONS = [
  ...CORE_OPERATIONS,
  ...HISTORY_OPERATIONS,
  ...WS_OPERATIONS,
  ...CONSUMER_OPERATIONS,
  ...DEAD_LETTER_OPERATIONS,
  ...ADMIN_OPERATIONS,
  ...SSE_OPERATIONS,
  ...WEBHOOK_OPERATIONS,
] as const satisfies readonly OperationSpec[];
export const COMPONENTS = [
  ...CORE_COMPONENTS,
  ...HISTORY_COMPONENTS,
  WsTicket,
  ...CONSUMER_COMPONENTS,
  ...DEAD_LETTER_COMPONENTS,
  ...ADMIN_COMPONENTS,
  ...SSE_COMPONENTS,
  ...WEBHOOK_COMPONENTS,
];

export function buildOpenApiDocument(): Record<string, unknown> {
  const document = buildDocument(
    {
      title: 'PLATFORMA Event Gateway',
      version: '0.1.0',
      description:
        "HTTP and WebSocket gateway to PLATFORMA's event bus (NATS JetStream). Publish validated, tenant-isolated events over HTTP; " +
        'subscribe over WebSocket (`GET /v1/ws`, see docs/websocket.md). Every error is `application/problem+json` with a stable `code`.',
      tags: [
        { name: 'publish', description: 'Store events on the bus.' },
        { name: 'catalogue', description: 'The event types the gateway accepts.' },
        { name: 'operations', description: 'Health and readiness probes.' },
        {
          name: 'subscribe',
          description:
            'WebSocket subscriptions (`GET /v1/ws`, docs/websocket.md, asyncapi/asyncapi.json) and Server-Sent Events (`GET /v1/events/stream`, docs/sse.md).',
        },
        { name: 'history', description: "Read a tenant's stored events back: history pages and correlation traces." },
        {
          name: 'consumers',
          description: 'HTTP pull consumers (durable, stateless on the gateway) and their dead letters (docs/consumers.md).',
        },
        { name: 'admin', description: 'API keys and tenant settings at run time, for keys with the `admin` scope (docs/admin.md).' },
        { name: 'webhooks', description: 'Signed HTTP push of events to a URL of yours (docs/webhooks.md).' },
      ],
    },
    OPERATIONS,
    COMPONENTS,
  );
  // OpenAPI 3.1: the requests the gateway itself sends (webhook deliveries).
  return { ...document, webhooks: WEBHOOK_DELIVERY_SECTION };
}
