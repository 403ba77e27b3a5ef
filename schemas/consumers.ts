// HTTP pull consumers: `PUT/GET/DELETE /v1/consumers/{name}`, `POST .../fetch` and `POST .../ack`.
// Operations, parameters and bodies; the handlers are routes/{putConsumer,getConsumer,
// deleteConsumer,fetchConsumer,ackConsumer}.ts and the behaviour lives in src/bus/ (see
// docs/consumers.md).
import { type Static, Type } from '@sinclair/typebox';
import { CloudEvent, FORMAT_PARAMETERS } from './cloudevents.ts';
import { ErrorCode } from './errors.ts';
import { ContentFilter, ContentFilterCondition } from './content-filter.ts';
import { EventEnvelope } from './envelope.ts';
import { ConsumerName, NAME_PATTERN } from './identifiers.ts';
import { BUS_ERRORS, type OperationSpec, type ParameterSpecOf, parametersOf } from './openapi-builder.ts';
import { StartPosition, TypePattern } from './stream-selection.ts';

/** The envelope the examples of fetched events and dead letters show. */
export const DELIVERED_EVENT_EXAMPLE = {
  id: 'evt_abc123',
  type: 'invoice.generated',
  version: '1.0',
  tenant_id: 'ten_xyz789',
  timestamp: '2026-03-15T10:05:22Z',
  source: 'billing-service',
  data: { invoice_id: 'inv_1', amount: 120, currency: 'EUR' },
  metadata: { correlation_id: 'req_abc123' },
};

/** The pattern of consumer names (identifiers.ts, ConsumerName). */
export const CONSUMER_NAME_PATTERN = NAME_PATTERN;
export const FETCH_MAX_WAIT_MS = 30_000;
export const FETCH_DEFAULT_MAX = 10;
export const FETCH_DEFAULT_WAIT_MS = 5000;
export const ACK_MAX_TOKENS = 1000;

export const ConsumerDefinition = Type.Object(
  {
    types: Type.Array(TypePattern, { minItems: 1, maxItems: 32, description: 'Type patterns the consumer reads (any may match).' }),
    from: Type.Optional(StartPosition),
    ack_wait: Type.Optional(
      Type.Integer({
        minimum: 1000,
        maximum: 12 * 3_600_000,
        description: 'Milliseconds a fetched event may stay unacknowledged before it is redelivered (default CONSUMER_ACK_WAIT).',
        examples: [30000],
      }),
    ),
    max_deliver: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: 'Deliveries of one event before it is moved to the dead letters instead (default CONSUMER_MAX_DELIVER).',
        examples: [5],
      }),
    ),
    filter: Type.Optional(ContentFilter),
  },
  { title: 'ConsumerDefinition', additionalProperties: false },
);
export type ConsumerDefinition = Static<typeof ConsumerDefinition>;

export const Consumer = Type.Object(
  {
    name: Type.String(),
    types: Type.Array(Type.String()),
    filter: Type.Optional(ContentFilter),
    from: StartPosition,
    ack_wait: Type.Integer({ description: 'Milliseconds.' }),
    max_deliver: Type.Integer(),
    pending: Type.Integer({ minimum: 0, description: 'Events on the consumer’s subjects not delivered yet (before the content filter).' }),
    unacked: Type.Integer({ minimum: 0, description: 'Delivered and not acknowledged yet.' }),
    redelivered: Type.Integer({ minimum: 0, description: 'Unacknowledged events delivered more than once.' }),
    last_delivered_seq: Type.Integer({ minimum: 0, description: 'Stream sequence of the last delivered event (0: none).' }),
    ack_floor_seq: Type.Integer({ minimum: 0, description: 'Every event up to this stream sequence is acknowledged.' }),
    created: Type.String({ format: 'date-time' }),
  },
  { title: 'Consumer', additionalProperties: false },
);
export type Consumer = Static<typeof Consumer>;

export const ConsumerListItem = Type.Object(
  {
    ...Consumer.properties,
    last_active: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the consumer last delivered an event or had one acknowledged; absent when never.',
      }),
    ),
  },
  { title: 'ConsumerListItem', additionalProperties: false },
);
export type ConsumerListItem = Static<typeof ConsumerListItem>;

export const ConsumerList = Type.Object(
  { consumers: Type.Array(ConsumerListItem, { description: "The tenant's durable consumers, by name." }) },
  { title: 'ConsumerList', additionalProperties: false },
);
export type ConsumerList = Static<typeof ConsumerList>;

export const FetchRequest = Type.Object(
  {
    max: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: `Most events to answer (default ${FETCH_DEFAULT_MAX}, at most CONSUMER_MAX_FETCH).`,
      }),
    ),
    wait_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: FETCH_MAX_WAIT_MS,
        description: `How long to wait for a first event (default ${FETCH_DEFAULT_WAIT_MS}); the answer comes as soon as there is one. 0: answer at once.`,
      }),
    ),
  },
  { title: 'FetchRequest', additionalProperties: false },
);
export type FetchRequest = Static<typeof FetchRequest>;

export const FetchedEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'Stream sequence of this delivery (a redriven dead letter has a new one).' }),
    delivery: Type.Integer({ minimum: 1, description: 'How many times the consumer got this event, this time included.' }),
    ack_token: Type.String({ description: 'Pass to `POST /v1/consumers/{name}/ack`, on any gateway instance, before `ack_deadline`.' }),
    ack_deadline: Type.String({ format: 'date-time', description: 'After this the token is refused and the event is redelivered.' }),
    traceparent: Type.Optional(
      Type.String({
        description:
          "The W3C trace context the event was published with (its publisher's `traceparent`, or the gateway's `send` span when tracing is on). Absent when the event was published without one.",
        examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      }),
    ),
    tracestate: Type.Optional(Type.String({ description: 'The W3C `tracestate` that travelled with `traceparent`, when there was one.' })),
    event: Type.Union([EventEnvelope, CloudEvent], {
      description: 'The envelope, or with `format=cloudevents` a structured-mode CloudEvent (docs/cloudevents.md).',
    }),
  },
  { title: 'FetchedEvent', additionalProperties: false },
);
export type FetchedEvent = Static<typeof FetchedEvent>;

export const FetchResult = Type.Object(
  { events: Type.Array(FetchedEvent, { description: 'In delivery order; empty when nothing arrived within `wait_ms`.' }) },
  { title: 'FetchResult', additionalProperties: false },
);
export type FetchResult = Static<typeof FetchResult>;

const Token = Type.String({ minLength: 1, maxLength: 4096 });

export const AckRequest = Type.Object(
  {
    acks: Type.Optional(Type.Array(Token, { maxItems: ACK_MAX_TOKENS, description: 'Tokens of events processed: never delivered again.' })),
    naks: Type.Optional(
      Type.Array(
        Type.Union([
          Token,
          Type.Object(
            {
              token: Token,
              delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 12 * 3_600_000, description: 'Redeliver no sooner than this.' })),
            },
            { additionalProperties: false },
          ),
        ]),
        { maxItems: ACK_MAX_TOKENS, description: 'Tokens of events to redeliver (counts as a delivery).' },
      ),
    ),
  },
  { title: 'AckRequest', additionalProperties: false, minProperties: 1 },
);
export type AckRequest = Static<typeof AckRequest>;

export const AckOutcome = Type.Union(
  [
    Type.Object({ ok: Type.Literal(true) }, { additionalProperties: false }),
    Type.Object(
      { ok: Type.Literal(false), error: Type.Object({ code: ErrorCode, message: Type.String() }, { additionalProperties: false }) },
      { additionalProperties: false },
    ),
  ],
  { title: 'AckOutcome' },
);
export type AckOutcome = Static<typeof AckOutcome>;

export const AckResult = Type.Object(
  {
    acks: Type.Array(AckOutcome, { description: 'One outcome per `acks` token, in request order.' }),
    naks: Type.Array(AckOutcome, { description: 'One outcome per `naks` entry, in request order.' }),
  },
  { title: 'AckResult', additionalProperties: false },
);
export type AckResult = Static<typeof AckResult>;

export const ConsumerDeleted = Type.Object(
  { name: Type.String(), deleted: Type.Boolean({ description: 'False when there was no such consumer (deleting is idempotent).' }) },
  { title: 'ConsumerDeleted', additionalProperties: false },
);
export type ConsumerDeleted = Static<typeof ConsumerDeleted>;

/** The path of `/v1/consumers/{name}` and its sub-resources. */
export const ConsumerParams = Type.Object({ name: Type.String({ pattern: ConsumerName.pattern }) });
export type ConsumerParams = Static<typeof ConsumerParams>;

const [NAME] = parametersOf('path', ConsumerParams, {
  name: {
    description: 'Consumer name, unique within the tenant. The same name as a WebSocket `group` is the same consumer.',
    example: 'billing',
  },
}) as [ParameterSpecOf<'path', typeof ConsumerParams>];

const consumerExample = {
  name: 'billing',
  types: ['invoice.*', 'order.created'],
  filter: { data: { amount: [{ numeric: ['>', 100] }] } },
  from: 'new',
  ack_wait: 30000,
  max_deliver: 5,
  pending: 3,
  unacked: 1,
  redelivered: 0,
  last_delivered_seq: 42,
  ack_floor_seq: 41,
  created: '2026-03-15T10:05:22.123Z',
};

export const CONSUMER_OPERATIONS = [
  {
    method: 'put',
    path: '/v1/consumers/{name}',
    operationId: 'putConsumer',
    summary: 'Create or update a pull consumer',
    description:
      'Creates the durable consumer, or updates its types, filter, ack wait and max deliver; repeating a request changes nothing. ' +
      'Its position lives in JetStream, so any gateway instance serves it. `from` applies at creation only. ' +
      'Idle consumers (no fetch for CONSUMER_IDLE_TIMEOUT) are deleted. Answers 201 when created, 200 otherwise.',
    tag: 'consumers',
    scope: 'subscribe',
    parameters: [NAME],
    requestBody: {
      description: 'The consumer definition.',
      schema: ConsumerDefinition,
      examples: {
        billing: {
          summary: 'Invoices and new orders over 100, 30 s to process each',
          value: {
            types: ['invoice.*', 'order.created'],
            filter: { data: { amount: [{ numeric: ['>', 100] }] } },
            ack_wait: 30000,
            max_deliver: 5,
          },
        },
      },
    },
    responses: {
      200: { description: 'Updated, or already as asked.', schema: Consumer, example: consumerExample },
      201: { description: 'Created.', schema: Consumer, example: consumerExample },
    },
    errors: ['GW_INVALID_FILTER', 'GW_CONFLICT', ...BUS_ERRORS, 'GW_RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/v1/consumers/{name}/fetch',
    operationId: 'fetchConsumer',
    summary: 'Fetch events (long poll)',
    description:
      'Answers up to `max` events as soon as there is at least one, or an empty list after `wait_ms`. Each comes with its delivery count and an ack token; ' +
      'acknowledge it before `ack_deadline` or it is redelivered. Events the content filter rejects are acknowledged by the gateway and never returned; ' +
      'an event delivered more than `max_deliver` times is moved to the dead letters instead of returned.',
    tag: 'consumers',
    scope: 'subscribe',
    parameters: [NAME, ...FORMAT_PARAMETERS],
    requestBody: {
      description: 'How many events, and how long to wait.',
      schema: FetchRequest,
      examples: { poll: { summary: 'Up to 10 events, waiting up to a second', value: { max: 10, wait_ms: 1000 } } },
    },
    responses: {
      200: {
        description: 'The events delivered (maybe none).',
        schema: FetchResult,
        example: {
          events: [
            {
              seq: 42,
              delivery: 1,
              ack_token: 'eyJ0IjoidGVuX3h5ejc4OSIsImMiOiJiaWxsaW5nIn0.c2lnbmF0dXJl',
              ack_deadline: '2026-03-15T10:05:52.123Z',
              event: DELIVERED_EVENT_EXAMPLE,
            },
          ],
        },
      },
    },
    errors: ['GW_NOT_FOUND', ...BUS_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/consumers/{name}/ack',
    operationId: 'ackConsumer',
    summary: 'Acknowledge or reject fetched events',
    description:
      'Acks (done, never redelivered) and naks (redeliver, after `delay_ms` if given) by ack token, on any gateway instance. ' +
      'Answers one outcome per token, in request order: `{ok: true}` once JetStream confirmed it, else an error: ' +
      '`GW_ACK_TOKEN_EXPIRED` (its ack wait passed; the event is redelivered), `GW_INVALID_ACK_TOKEN` (malformed, forged, or issued to another tenant or consumer), ' +
      '`GW_NOT_FOUND` (the consumer is gone) or a bus error (retry).',
    tag: 'consumers',
    scope: 'subscribe',
    parameters: [NAME],
    requestBody: {
      description: 'Tokens to ack and to nak.',
      schema: AckRequest,
      examples: {
        mixed: {
          summary: 'Ack one event, retry another in 5 s',
          value: { acks: ['eyJ0IjoidGVuX3h5ejc4OSJ9.c2ln'], naks: [{ token: 'eyJ0IjoidGVuX3h5ejc4OSJ9.b3RoZXI', delay_ms: 5000 }] },
        },
      },
    },
    responses: {
      200: {
        description: 'One outcome per token.',
        schema: AckResult,
        example: {
          acks: [{ ok: true }],
          naks: [{ ok: false, error: { code: 'GW_ACK_TOKEN_EXPIRED', message: 'The ack token expired at 2026-03-15T10:05:52.123Z' } }],
        },
      },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/consumers/{name}',
    operationId: 'getConsumer',
    summary: 'A pull consumer and its position',
    description: 'Its definition, how many events wait for it, how many are delivered but unacknowledged, and the last delivered sequence.',
    tag: 'consumers',
    scope: 'subscribe',
    parameters: [NAME],
    responses: { 200: { description: 'The consumer.', schema: Consumer, example: consumerExample } },
    errors: ['GW_NOT_FOUND', ...BUS_ERRORS],
  },
  {
    method: 'delete',
    path: '/v1/consumers/{name}',
    operationId: 'deleteConsumer',
    summary: 'Delete a pull consumer',
    description:
      'Deletes the consumer and its position (a WebSocket group of the same name goes with it). Its dead letters stay. ' +
      'Idempotent: deleting a consumer that does not exist answers `deleted: false`.',
    tag: 'consumers',
    scope: 'subscribe',
    parameters: [{ ...NAME, example: 'retired-consumer' }],
    responses: {
      200: { description: 'Deleted, or there was none.', schema: ConsumerDeleted, example: { name: 'billing', deleted: true } },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/consumers',
    operationId: 'listConsumers',
    summary: "The tenant's pull consumers",
    description:
      "Every durable consumer of the caller's tenant (HTTP pull consumers and WebSocket groups): definition, pending and unacknowledged events, and when it was last active. " +
      "Other tenants' consumers are never listed.",
    tag: 'consumers',
    scope: 'subscribe',
    responses: {
      200: {
        description: 'The consumers.',
        schema: ConsumerList,
        example: { consumers: [{ ...consumerExample, last_active: '2026-03-15T10:06:01.456Z' }] },
      },
    },
    errors: [...BUS_ERRORS],
  },
] as const satisfies readonly OperationSpec[];

export const CONSUMER_COMPONENTS = [
  ConsumerDefinition,
  Consumer,
  StartPosition,
  FetchRequest,
  FetchedEvent,
  FetchResult,
  AckRequest,
  AckOutcome,
  AckResult,
  ConsumerDeleted,
  ContentFilter,
  ContentFilterCondition,
  ConsumerListItem,
  ConsumerList,
];
