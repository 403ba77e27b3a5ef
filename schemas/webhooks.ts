// Webhook subscriptions: `PUT/GET/DELETE /v1/webhooks/{name}`, `GET /v1/webhooks`, `POST
// .../pause`, `.../resume`, `.../rotate-secret` and `GET .../attempts`; and the outgoing request
// the gateway makes to a receiver (the OpenAPI document's top-level `webhooks` section). The
// handlers are routes/{putWebhook,getWebhook,deleteWebhook,listWebhooks,pauseWebhook,resumeWebhook,
// rotateWebhookSecret,listWebhookAttempts}.ts, the behaviour src/webhooks/ and
// src/delivery/sinks/webhook.ts (see docs/webhooks.md).
import { type Static, Type } from '@sinclair/typebox';
import { CLOUDEVENTS_JSON } from './cloudevents.ts';
import { ContentFilter } from './content-filter.ts';
import { DELIVERED_EVENT_EXAMPLE } from './consumers.ts';
import { ConsumerName } from './identifiers.ts';
import { BUS_ERRORS, type OperationSpec, type ParameterSpecOf, parametersOf } from './openapi-builder.ts';
import { StartPosition, TypePattern } from './stream-selection.ts';

export const WEBHOOK_DEFAULT_MAX_IN_FLIGHT = 10;
export const WEBHOOK_MAX_IN_FLIGHT = 1000;
export const WEBHOOK_DEFAULT_MAX_ATTEMPTS = 10;
export const WEBHOOK_DEFAULT_INITIAL_BACKOFF_MS = 1000;
export const WEBHOOK_DEFAULT_MAX_BACKOFF_MS = 300_000;
export const WEBHOOK_ATTEMPTS_MAX_LIMIT = 200;
export const WEBHOOK_ATTEMPTS_DEFAULT_LIMIT = 50;

/** A dead letter of webhook `name` is listed under the consumer `webhook:<name>`. */
export const WEBHOOK_DEAD_LETTER_PREFIX = 'webhook:';

export const WebhookRetry = Type.Object(
  {
    max_attempts: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: `Deliveries of one event (the first included) before it is moved to the dead letters (default ${WEBHOOK_DEFAULT_MAX_ATTEMPTS}).`,
      examples: [8],
    }),
    initial_backoff: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 3_600_000,
        description: `Milliseconds before the first retry (default ${WEBHOOK_DEFAULT_INITIAL_BACKOFF_MS}); each retry waits twice the one before, with jitter.`,
        examples: [1000],
      }),
    ),
    max_backoff: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 12 * 3_600_000,
        description: `The longest wait between two attempts, in milliseconds (default ${WEBHOOK_DEFAULT_MAX_BACKOFF_MS}).`,
        examples: [300000],
      }),
    ),
  },
  { title: 'WebhookRetry', additionalProperties: false },
);
export type WebhookRetry = Static<typeof WebhookRetry>;

export const WEBHOOK_DEFAULT_CONTENT_MODE = 'envelope';

export const WebhookContentMode = Type.Union([Type.Literal('envelope'), Type.Literal('structured'), Type.Literal('binary')], {
  title: 'WebhookContentMode',
  description:
    'What each delivery carries (docs/webhooks.md, docs/cloudevents.md). `envelope` (default): the stored event envelope, byte for byte, as `application/json`. ' +
    '`structured`: the event as a structured-mode CloudEvent 1.0, `application/cloudevents+json`. ' +
    "`binary`: a binary-mode CloudEvent: its attributes as `ce-*` headers (`ce-specversion`, `ce-id`, `ce-type`, `ce-source`, `ce-time`, `ce-tenantid`, ...) and the event's `data` as the body, with the data's content type (`application/json`). " +
    'In every mode the signature is over the body sent and `webhook-id` is the event id.',
  examples: ['structured'],
});
export type WebhookContentMode = Static<typeof WebhookContentMode>;

export const WebhookDefinition = Type.Object(
  {
    url: Type.String({
      minLength: 8,
      maxLength: 2048,
      description:
        'Where events are POSTed: `https://` (plain `http://` only when WEBHOOK_ALLOW_HTTP=true), no credentials. Its host must resolve to public addresses unless WEBHOOK_ALLOWED_HOSTS allows it.',
      examples: ['https://hooks.example.com/platforma'],
    }),
    types: Type.Array(TypePattern, { minItems: 1, maxItems: 32, description: 'Type patterns delivered (any may match).' }),
    filter: Type.Optional(ContentFilter),
    from: Type.Optional(StartPosition),
    max_in_flight: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: WEBHOOK_MAX_IN_FLIGHT,
        description: `Most requests outstanding at once, over all gateway instances (default ${WEBHOOK_DEFAULT_MAX_IN_FLIGHT}). 1 delivers in stream order, one at a time.`,
        examples: [10],
      }),
    ),
    retry: Type.Optional(WebhookRetry),
    content_mode: Type.Optional(WebhookContentMode),
  },
  { title: 'WebhookDefinition', additionalProperties: false },
);
export type WebhookDefinition = Static<typeof WebhookDefinition>;

export const WebhookState = Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')], {
  title: 'WebhookState',
  description:
    '`active`: delivering. `paused`: by `POST .../pause`, events wait. `disabled`: the receiver answered `410 Gone`, events wait; `POST .../resume` delivers again.',
});
export type WebhookState = Static<typeof WebhookState>;

const webhookProperties = {
  name: Type.String(),
  url: Type.String(),
  types: Type.Array(Type.String()),
  filter: Type.Optional(ContentFilter),
  from: StartPosition,
  max_in_flight: Type.Integer({ minimum: 1 }),
  retry: Type.Object(
    { max_attempts: Type.Integer(), initial_backoff: Type.Integer(), max_backoff: Type.Integer() },
    { additionalProperties: false },
  ),
  content_mode: WebhookContentMode,
  state: WebhookState,
  state_reason: Type.Optional(Type.String({ description: 'Why it is paused or disabled.' })),
  state_changed_at: Type.String({ format: 'date-time' }),
  previous_secret_expires_at: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'Until then deliveries carry a second signature, made with the secret before the last rotation.',
    }),
  ),
  pending: Type.Integer({ minimum: 0, description: 'Events waiting to be delivered (before the content filter).' }),
  in_flight: Type.Integer({ minimum: 0, description: 'Events being delivered or waiting for a retry.' }),
  lag: Type.Integer({ minimum: 0, description: '`pending + in_flight`: events not delivered yet.' }),
  last_delivered_seq: Type.Integer({ minimum: 0, description: 'Stream sequence of the last event handed to the receiver (0: none).' }),
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
};

export const Webhook = Type.Object(webhookProperties, { title: 'Webhook', additionalProperties: false });
export type Webhook = Static<typeof Webhook>;

const Secret = Type.String({
  pattern: '^whsec_[A-Za-z0-9+/]+=*$',
  description: 'The signing secret (`whsec_` + base64 of 32 random bytes). Shown only now: keep it.',
  examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6Vq4IeCc9IE='],
});

export const WebhookCreated = Type.Object(
  { ...webhookProperties, secret: Secret },
  { title: 'WebhookCreated', additionalProperties: false, description: 'The webhook, with its signing secret (answered once).' },
);
export type WebhookCreated = Static<typeof WebhookCreated>;

export const WebhookList = Type.Object(
  { webhooks: Type.Array(Webhook, { description: 'By name.' }) },
  { title: 'WebhookList', additionalProperties: false },
);
export type WebhookList = Static<typeof WebhookList>;

export const WebhookDeleted = Type.Object(
  { name: Type.String(), deleted: Type.Boolean({ description: 'False when there was no such webhook (deleting is idempotent).' }) },
  { title: 'WebhookDeleted', additionalProperties: false },
);
export type WebhookDeleted = Static<typeof WebhookDeleted>;

export const WebhookSecret = Type.Object(
  {
    name: Type.String(),
    secret: Secret,
    previous_secret_expires_at: Type.String({
      format: 'date-time',
      description: 'Until then every delivery is signed with both the new and the previous secret (WEBHOOK_SECRET_ROTATION_WINDOW).',
    }),
  },
  { title: 'WebhookSecret', additionalProperties: false },
);
export type WebhookSecret = Static<typeof WebhookSecret>;

export const WebhookAttempt = Type.Object(
  {
    at: Type.String({ format: 'date-time', description: 'When the request was sent.' }),
    event_id: Type.String(),
    seq: Type.Integer({ minimum: 1 }),
    attempt: Type.Integer({ minimum: 1, description: 'Delivery count of this event, this attempt included.' }),
    status: Type.Union([Type.Integer(), Type.Null()], { description: 'HTTP status answered; null when there was no answer.' }),
    latency_ms: Type.Integer({ minimum: 0 }),
    outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retry'), Type.Literal('disabled')], {
      description: '`delivered` (2xx), `retry` (redelivered later, or dead-lettered once out of attempts), `disabled` (410).',
    }),
    error: Type.Optional(Type.String({ description: 'Why it failed.' })),
  },
  { title: 'WebhookAttempt', additionalProperties: false },
);
export type WebhookAttempt = Static<typeof WebhookAttempt>;

export const WebhookAttemptList = Type.Object(
  { attempts: Type.Array(WebhookAttempt, { description: 'Newest first, from every gateway instance (kept for recent attempts only).' }) },
  { title: 'WebhookAttemptList', additionalProperties: false },
);
export type WebhookAttemptList = Static<typeof WebhookAttemptList>;

export const WebhookParams = Type.Object({ name: Type.String({ pattern: ConsumerName.pattern }) });
export type WebhookParams = Static<typeof WebhookParams>;

const [NAME] = parametersOf('path', WebhookParams, {
  name: { description: 'Webhook name, unique within the tenant.', example: 'billing-hook' },
}) as [ParameterSpecOf<'path', typeof WebhookParams>];

export const WebhookAttemptsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: WEBHOOK_ATTEMPTS_MAX_LIMIT, default: WEBHOOK_ATTEMPTS_DEFAULT_LIMIT }),
});
export type WebhookAttemptsQuery = Static<typeof WebhookAttemptsQuery>;

const ATTEMPTS_QUERY = parametersOf('query', WebhookAttemptsQuery, {
  limit: { description: `Most attempts to answer (default ${WEBHOOK_ATTEMPTS_DEFAULT_LIMIT}).` },
});

const webhookExample = {
  name: 'billing-hook',
  url: 'https://hooks.example.com/platforma',
  types: ['invoice.*'],
  from: 'new',
  max_in_flight: 10,
  retry: { max_attempts: 10, initial_backoff: 1000, max_backoff: 300000 },
  content_mode: 'envelope',
  state: 'active',
  state_changed_at: '2026-03-15T10:05:22.123Z',
  pending: 0,
  in_flight: 1,
  lag: 1,
  last_delivered_seq: 42,
  created: '2026-03-15T10:05:22.123Z',
  updated: '2026-03-15T10:05:22.123Z',
};
const SECRET_EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6Vq4IeCc9IE=';

const URL_ERRORS = ['GW_WEBHOOK_URL_REFUSED'] as const;

export const WEBHOOK_OPERATIONS = [
  {
    method: 'put',
    path: '/v1/webhooks/{name}',
    operationId: 'putWebhook',
    summary: 'Create or update a webhook',
    description:
      'Creates the webhook (201, with its signing secret, shown only now), or updates its URL, types, filter, in-flight limit, retry policy and content mode (200; the secret and the position stay). ' +
      '`content_mode` says what each request carries: the stored envelope (`envelope`, the default), or a CloudEvent in structured or binary mode. ' +
      'Every gateway instance delivers it: each event is POSTed once acknowledged by a 2xx, retried with exponential backoff otherwise, and moved to the dead letters (consumer `webhook:<name>`) after `retry.max_attempts`. ' +
      '`from` applies at creation only. The URL is refused (`422 GW_WEBHOOK_URL_REFUSED`) when it is not https, or its host resolves to a loopback, private, link-local or metadata address (see WEBHOOK_ALLOWED_HOSTS).',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME],
    requestBody: {
      description: 'The webhook definition.',
      schema: WebhookDefinition,
      examples: {
        invoices: {
          summary: 'Invoices over 100, two at a time, 8 attempts',
          value: {
            url: 'https://hooks.example.com/platforma',
            types: ['invoice.*'],
            filter: { data: { amount: [{ numeric: ['>', 100] }] } },
            max_in_flight: 2,
            retry: { max_attempts: 8 },
          },
        },
        cloudevents: {
          summary: 'Every order event as a binary-mode CloudEvent',
          value: { url: 'https://hooks.example.com/knative', types: ['order.*'], content_mode: 'binary' },
        },
      },
    },
    responses: {
      200: { description: 'Updated, or already as asked.', schema: Webhook, example: webhookExample },
      201: {
        description: 'Created; `secret` signs its deliveries.',
        schema: WebhookCreated,
        example: { ...webhookExample, secret: SECRET_EXAMPLE },
      },
    },
    errors: [...URL_ERRORS, 'GW_INVALID_FILTER', 'GW_CONFLICT', ...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/webhooks',
    operationId: 'listWebhooks',
    summary: "The tenant's webhooks",
    description: 'Every webhook of the tenant with its state and lag (events not delivered yet).',
    tag: 'webhooks',
    scope: 'subscribe',
    responses: { 200: { description: 'The webhooks.', schema: WebhookList, example: { webhooks: [webhookExample] } } },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/webhooks/{name}',
    operationId: 'getWebhook',
    summary: 'A webhook, its state and lag',
    description: 'Its definition (never its secret), state, and how far delivery is behind.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME],
    responses: { 200: { description: 'The webhook.', schema: Webhook, example: webhookExample } },
    errors: ['GW_NOT_FOUND', ...BUS_ERRORS],
  },
  {
    method: 'delete',
    path: '/v1/webhooks/{name}',
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook',
    description:
      'Stops its deliveries on every instance and deletes its position. Its dead letters stay (redriving them answers `GW_NOT_FOUND` until a webhook of that name exists again). Idempotent.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [{ ...NAME, example: 'retired-hook' }],
    responses: {
      200: { description: 'Deleted, or there was none.', schema: WebhookDeleted, example: { name: 'billing-hook', deleted: true } },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/webhooks/{name}/pause',
    operationId: 'pauseWebhook',
    summary: 'Pause a webhook',
    description: 'Every instance stops sending (requests under way finish); events wait, in order, until `resume`.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME],
    responses: {
      200: {
        description: 'Paused.',
        schema: Webhook,
        example: { ...webhookExample, state: 'paused', state_reason: 'paused through the API' },
      },
    },
    errors: ['GW_NOT_FOUND', 'GW_CONFLICT', ...BUS_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/webhooks/{name}/resume',
    operationId: 'resumeWebhook',
    summary: 'Resume a paused or disabled webhook',
    description: 'Delivery starts again where it stopped, on every instance.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME],
    responses: { 200: { description: 'Active.', schema: Webhook, example: webhookExample } },
    errors: ['GW_NOT_FOUND', 'GW_CONFLICT', ...BUS_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/webhooks/{name}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate the signing secret',
    description:
      'Makes a new secret and answers it (only now). Until `previous_secret_expires_at` (WEBHOOK_SECRET_ROTATION_WINDOW, default 24 h) every delivery carries two signatures, ' +
      'one per secret, so receivers can switch to the new one at their own pace. A second rotation within the window drops the oldest secret.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME],
    responses: {
      200: {
        description: 'The new secret.',
        schema: WebhookSecret,
        example: { name: 'billing-hook', secret: SECRET_EXAMPLE, previous_secret_expires_at: '2026-03-16T10:05:22.123Z' },
      },
    },
    errors: ['GW_NOT_FOUND', 'GW_CONFLICT', ...BUS_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/webhooks/{name}/attempts',
    operationId: 'listWebhookAttempts',
    summary: 'Recent delivery attempts',
    description:
      'The most recent delivery attempts of the webhook, by any instance, newest first: event, answer status, latency and error. Attempts are recorded about once a second, so the newest may show a moment later.',
    tag: 'webhooks',
    scope: 'subscribe',
    parameters: [NAME, ...ATTEMPTS_QUERY],
    responses: {
      200: {
        description: 'The attempts.',
        schema: WebhookAttemptList,
        example: {
          attempts: [
            {
              at: '2026-03-15T10:05:23.001Z',
              event_id: 'evt_abc123',
              seq: 42,
              attempt: 2,
              status: 200,
              latency_ms: 35,
              outcome: 'delivered',
            },
            {
              at: '2026-03-15T10:05:22.201Z',
              event_id: 'evt_abc123',
              seq: 42,
              attempt: 1,
              status: 503,
              latency_ms: 12,
              outcome: 'retry',
              error: 'HTTP 503',
            },
          ],
        },
      },
    },
    errors: ['GW_NOT_FOUND', ...BUS_ERRORS],
  },
] as const satisfies readonly OperationSpec[];

export const WEBHOOK_COMPONENTS = [
  WebhookDefinition,
  WebhookRetry,
  WebhookContentMode,
  WebhookState,
  Webhook,
  WebhookCreated,
  WebhookList,
  WebhookDeleted,
  WebhookSecret,
  WebhookAttempt,
  WebhookAttemptList,
];

/** The `ce-*` headers of a delivery in content_mode `binary` (src/cloudevents.ts, toBinaryCloudEvent). */
const BINARY_MODE_HEADERS = [
  ['ce-specversion', 'Always `1.0`.', '1.0'],
  ['ce-id', 'The event id (as `webhook-id`).', DELIVERED_EVENT_EXAMPLE.id],
  ['ce-type', 'The event type.', DELIVERED_EVENT_EXAMPLE.type],
  ['ce-source', 'The event source.', DELIVERED_EVENT_EXAMPLE.source],
  ['ce-time', 'The event timestamp.', DELIVERED_EVENT_EXAMPLE.timestamp],
  ['ce-tenantid', 'The tenant.', DELIVERED_EVENT_EXAMPLE.tenant_id],
  ['ce-dataversion', 'The version of the type.', DELIVERED_EVENT_EXAMPLE.version],
  [
    'ce-correlationid',
    'Its `metadata.correlation_id`, when set; other metadata entries are headers too (`ce-causationid`, `ce-traceid`, `ce-<key>`), values percent-encoded as the CloudEvents HTTP binding asks.',
    DELIVERED_EVENT_EXAMPLE.metadata.correlation_id,
  ],
].map(([name, description, example]) => ({
  name,
  in: 'header',
  required: false,
  description: `content_mode \`binary\` only: ${description}`,
  schema: { type: 'string' },
  example,
}));

/**
 * The request the gateway sends to a receiver, as the OpenAPI 3.1 top-level `webhooks` section
 * describes it (Standard Webhooks: https://www.standardwebhooks.com/).
 */
export const WEBHOOK_DELIVERY_SECTION = {
  event: {
    post: {
      operationId: 'deliverWebhookEvent',
      summary: 'One event, POSTed to a webhook URL',
      description:
        "Sent by the gateway for each event a webhook selects, following the Standard Webhooks specification. What the body is depends on the webhook's `content_mode`: " +
        '`envelope` (default): the stored event envelope, byte for byte, `content-type: application/json`; ' +
        '`structured`: the event as a structured-mode CloudEvent 1.0, `content-type: application/cloudevents+json`; ' +
        "`binary`: a binary-mode CloudEvent, the attributes as `ce-*` headers and the event's `data` as the body, `content-type` the data's (`application/json`). " +
        'Any CloudEvents SDK reads the last two (docs/cloudevents.md); posted back to `POST /v1/events`, such an event is recognised as the same one (a duplicate). ' +
        'Verify `webhook-signature` before trusting it: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part of the secret after `whsec_`; ' +
        'during a secret rotation the header holds two signatures separated by a space, and one matching is enough. `webhook-id` is the event id, the same on every retry: use it to drop duplicates (delivery is at least once). ' +
        'Answer any 2xx once processed. `410 Gone` disables the webhook. `429`/`503` with `Retry-After` delays the retry by that long (capped by WEBHOOK_MAX_RETRY_AFTER). ' +
        'Anything else, a redirect, a timeout (WEBHOOK_TIMEOUT) or a connection failure is retried with exponential backoff until `retry.max_attempts`, then the event goes to the dead letters.',
      tags: ['webhooks'],
      parameters: [
        {
          name: 'webhook-id',
          in: 'header',
          required: true,
          description: 'The event id; stable across retries and redrives.',
          schema: { type: 'string' },
          example: 'evt_abc123',
        },
        {
          name: 'webhook-timestamp',
          in: 'header',
          required: true,
          description:
            'Unix seconds when this attempt was signed; reject ones far from now (the Node and Python receivers allow 5 minutes).',
          schema: { type: 'string', pattern: '^[0-9]+$' },
          example: '1773569122',
        },
        {
          name: 'webhook-signature',
          in: 'header',
          required: true,
          description: 'One or two (during a rotation) space-separated `v1,<base64>` signatures.',
          schema: { type: 'string', pattern: '^v1,[A-Za-z0-9+/]+=*( v1,[A-Za-z0-9+/]+=*)?$' },
          example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
        },
        {
          name: 'traceparent',
          in: 'header',
          required: false,
          description: 'W3C trace context of the event, when it has one.',
          schema: { type: 'string' },
          example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        },
        ...BINARY_MODE_HEADERS,
      ],
      requestBody: {
        required: true,
        description:
          "By `content_mode`: the event envelope as stored (`envelope`), the structured-mode CloudEvent (`structured`), or the event's `data` (`binary`, with the attributes in `ce-*` headers).",
        content: {
          'application/json': {
            schema: {
              anyOf: [
                { $ref: '#/components/schemas/EventEnvelope' },
                { description: "content_mode `binary`: the event's `data` as JSON; the CloudEvent's attributes are the `ce-*` headers." },
              ],
            },
            examples: {
              envelope: { summary: 'content_mode envelope: the stored envelope', value: DELIVERED_EVENT_EXAMPLE },
              binary: { summary: "content_mode binary: the event's data", value: DELIVERED_EVENT_EXAMPLE.data },
            },
          },
          [CLOUDEVENTS_JSON]: {
            schema: { $ref: '#/components/schemas/CloudEvent' },
            example: {
              specversion: '1.0',
              id: DELIVERED_EVENT_EXAMPLE.id,
              source: DELIVERED_EVENT_EXAMPLE.source,
              type: DELIVERED_EVENT_EXAMPLE.type,
              time: DELIVERED_EVENT_EXAMPLE.timestamp,
              datacontenttype: 'application/json',
              tenantid: DELIVERED_EVENT_EXAMPLE.tenant_id,
              dataversion: DELIVERED_EVENT_EXAMPLE.version,
              correlationid: DELIVERED_EVENT_EXAMPLE.metadata.correlation_id,
              data: DELIVERED_EVENT_EXAMPLE.data,
            },
          },
        },
      },
      responses: {
        '2XX': { description: 'Processed: the event is acknowledged and not sent again.' },
        '410': { description: 'Gone: the webhook is disabled (state `disabled`) until resumed through the API.' },
        '429': {
          description: 'Too many requests: retried after `Retry-After` (seconds or an HTTP date), else with backoff.',
          headers: { 'Retry-After': { schema: { type: 'string' } } },
        },
        '503': {
          description: 'Unavailable: retried after `Retry-After`, else with backoff.',
          headers: { 'Retry-After': { schema: { type: 'string' } } },
        },
        default: { description: 'Any other answer (3xx included: redirects are not followed) is retried with backoff.' },
      },
      security: [],
    },
  },
};
