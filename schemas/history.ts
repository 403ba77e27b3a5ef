// Reading events back: `GET /v1/events` (a tenant's history, filtered and paged) and
// `GET /v1/correlations/{correlation_id}` (one workflow and its summary). Operations, parameters
// and response schemas; the handlers are routes/listEvents.ts and routes/getCorrelation.ts.
import { type Static, Type } from '@sinclair/typebox';
import { CLOUDEVENTS_BATCH_JSON, CloudEvent, CloudEventList, EventFormat } from './cloudevents.ts';
import { EventEnvelope } from './envelope.ts';
import { CorrelationId, Sequence } from './identifiers.ts';
import { BUS_ERRORS, type OperationSpec, parametersOf } from './openapi-builder.ts';

export const HISTORY_MAX_LIMIT = 1000;
export const HISTORY_DEFAULT_LIMIT = 100;

export const StoredEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'Stream sequence; history is ordered by it.', examples: [42] }),
    stored_at: Type.String({
      format: 'date-time',
      description: 'When JetStream stored the event; `since` and `until` compare with this time.',
      examples: ['2026-03-15T10:05:22.123Z'],
    }),
    event: EventEnvelope,
  },
  { title: 'StoredEvent', additionalProperties: false },
);
export type StoredEvent = Static<typeof StoredEvent>;

/** A stored event shown as a CloudEvent (`format=cloudevents`). */
export const StoredCloudEvent = Type.Object(
  { seq: StoredEvent.properties.seq, stored_at: StoredEvent.properties.stored_at, event: CloudEvent },
  { title: 'StoredCloudEvent', additionalProperties: false },
);
export type StoredCloudEvent = Static<typeof StoredCloudEvent>;

export const EventPage = Type.Object(
  {
    events: Type.Array(Type.Union([StoredEvent, StoredCloudEvent]), {
      description: 'Matching events in sequence order; at most `limit`. `StoredCloudEvent`s with `format=cloudevents`.',
    }),
    next: Type.Union([Type.String(), Type.Null()], {
      description:
        'Pass as `cursor` to read on; `null` when the stored history (or `until`) was reached. A page cut short by the scan budget can hold fewer than `limit` events, even none, with a non-null `next`.',
    }),
  },
  { title: 'EventPage', additionalProperties: false },
);
export type EventPage = Static<typeof EventPage>;

const Step = {
  seq: Type.Integer({ minimum: 1 }),
  id: Type.String(),
  type: Type.String(),
  source: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
};

/** Why a step counts as failed. */
export const FailureRule = Type.Union([Type.Literal('type'), Type.Literal('data.error'), Type.Literal('data.status')], {
  description:
    'Why the step counts as failed: `type` (its action is `failed`/`cancelled` or ends in `_failed`/`_cancelled`), `data.error` (present, not null or false), or `data.status` (one of failed, failure, error, errored, cancelled, canceled, aborted, rejected).',
});
export type FailureRule = Static<typeof FailureRule>;

export const FailedStep = Type.Object(
  {
    ...Step,
    rule: FailureRule,
    reason: Type.Optional(Type.String({ description: '`data.reason`, or `data.error` (its `message` when an object).' })),
  },
  { title: 'FailedStep', additionalProperties: false },
);
export type FailedStep = Static<typeof FailedStep>;

export const Compensation = Type.Object(
  { ...Step, follows_seq: Type.Integer({ minimum: 1, description: 'Sequence of the latest failed step before this event.' }) },
  { title: 'Compensation', additionalProperties: false, description: 'An event that followed a failed step.' },
);
export type Compensation = Static<typeof Compensation>;

export const CorrelationSummary = Type.Object(
  {
    count: Type.Integer({ minimum: 1 }),
    first_timestamp: Type.String({ format: 'date-time', description: 'Earliest event `timestamp`.' }),
    last_timestamp: Type.String({ format: 'date-time', description: 'Latest event `timestamp`.' }),
    sources: Type.Array(Type.String(), { description: 'Producing services, in order of first appearance.' }),
    types: Type.Array(Type.String(), { description: 'Event types, in order of first appearance.' }),
    failed: Type.Boolean({ description: 'True when any step failed or was cancelled.' }),
    failures: Type.Array(FailedStep),
    compensations: Type.Array(Compensation, { description: 'Every event after the first failed step, in order.' }),
  },
  { title: 'CorrelationSummary', additionalProperties: false },
);
export type CorrelationSummary = Static<typeof CorrelationSummary>;

export const CorrelationTrace = Type.Object(
  {
    correlation_id: Type.String(),
    events: Type.Array(StoredEvent, { description: 'Every event of the correlation in sequence order.' }),
    truncated: Type.Boolean({
      description: 'True when the correlation holds more than CORRELATION_MAX_EVENTS events; only the first are here.',
    }),
    summary: CorrelationSummary,
  },
  { title: 'CorrelationTrace', additionalProperties: false },
);
export type CorrelationTrace = Static<typeof CorrelationTrace>;

const TypePatterns = Type.Array(Type.String({ minLength: 1, maxLength: 129 }), { maxItems: 32 });

/** The query of `GET /v1/events`; `limit` is filled with its default when absent. */
export const ListEventsQuery = Type.Object({
  types: Type.Optional(TypePatterns),
  from_seq: Type.Optional(Sequence()),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  correlation_id: Type.Optional(Type.String({ pattern: CorrelationId.pattern })),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  limit: Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  format: Type.Optional(EventFormat),
});
export type ListEventsQuery = Static<typeof ListEventsQuery>;

export const LIST_EVENTS_PARAMETERS = parametersOf('query', ListEventsQuery, {
  types: {
    description:
      'Type patterns: `order.created` (one type), `order.*` (a domain) or `*` (all). Comma-separated or repeated; an event matching any pattern is returned. Omitted: all.',
    example: ['order.*', 'resource.created'],
  },
  from_seq: { description: 'Start at this stream sequence (inclusive). Not with `since` or `cursor`.' },
  since: { description: 'Start at the first event stored at or after this RFC 3339 time. Not with `from_seq` or `cursor`.' },
  until: { description: 'Stop after the events stored at or before this RFC 3339 time.' },
  correlation_id: { description: 'Only events of this correlation id.', example: 'req_abc123' },
  source: { description: 'Only events from this source (exact match).', example: 'provisioning-service' },
  limit: { description: `Most events in the page (default ${HISTORY_DEFAULT_LIMIT}).` },
  cursor: {
    description:
      "`next` of the previous page. It carries the position and the filters; filter parameters may be repeated (they must equal the cursor's) or left out. Not with `from_seq` or `since`.",
  },
  format: {
    description:
      '`envelope` (default) or `cloudevents`: each `event` is then a CloudEvents 1.0 structured-mode object (docs/cloudevents.md). ' +
      'With `Accept: application/cloudevents-batch+json` the answer is a CloudEvents batch (a JSON array) whatever `format` says, and the next page is in the `Link` header.',
    example: 'cloudevents',
  },
});

/** The path of `GET /v1/correlations/{correlation_id}`. */
export const CorrelationParams = Type.Object({ correlation_id: Type.String({ pattern: CorrelationId.pattern }) });
export type CorrelationParams = Static<typeof CorrelationParams>;

const storedExample = (seq: number, type: string, source: string, data: Record<string, unknown>) => ({
  seq,
  stored_at: '2026-03-15T10:05:22.123Z',
  event: {
    id: `evt_${seq}`,
    type,
    version: '1.0',
    tenant_id: 'ten_xyz789',
    timestamp: '2026-03-15T10:05:22Z',
    source,
    data,
    metadata: { correlation_id: 'req_abc123' },
  },
});

export const HISTORY_OPERATIONS = [
  {
    method: 'get',
    path: '/v1/events',
    operationId: 'listEvents',
    summary: "Read the tenant's event history",
    description:
      "The key's tenant's stored events in sequence order, filtered by type patterns, time or sequence, correlation id and source, a page at a time. " +
      'Follow `next` with `cursor` to read on: pages never overlap or skip an event. For new events, poll with `from_seq` = last `seq` + 1 (or subscribe over WebSocket).',
    tag: 'history',
    scope: 'read',
    parameters: LIST_EVENTS_PARAMETERS,
    responses: {
      200: {
        description: 'One page of history.',
        schema: EventPage,
        example: {
          events: [storedExample(41, 'order.created', 'order-service', { order_id: 'ord_xyz789' })],
          next: 'eyJ2IjoxLCJwIjo0MiwidCI6W119',
        },
        headers: {
          Link: {
            description:
              'With `Accept: application/cloudevents-batch+json`: `</v1/events?cursor=...>; rel="next"` while there is a next page (the `next` of the JSON page).',
            schema: { type: 'string' },
          },
        },
        otherContent: {
          [CLOUDEVENTS_BATCH_JSON]: {
            schema: CloudEventList,
            example: [
              {
                specversion: '1.0',
                id: 'evt_41',
                source: 'order-service',
                type: 'order.created',
                time: '2026-03-15T10:05:22Z',
                datacontenttype: 'application/json',
                tenantid: 'ten_xyz789',
                dataversion: '1.0',
                correlationid: 'req_abc123',
                data: { order_id: 'ord_xyz789' },
              },
            ],
          },
        },
      },
    },
    errors: [...BUS_ERRORS, 'GW_RATE_LIMITED'],
  },
  {
    method: 'get',
    path: '/v1/correlations/{correlation_id}',
    operationId: 'getCorrelation',
    summary: 'Trace one workflow by correlation id',
    description:
      "Every event of the key's tenant carrying this correlation id, in sequence order, with a summary: first and last timestamps, the sources and types involved, the steps that failed or were cancelled and the events that followed them (compensations). " +
      'The lookup uses the correlation id subject token, so its cost follows the size of the workflow, not of the history.',
    tag: 'history',
    scope: 'read',
    parameters: parametersOf('path', CorrelationParams, {
      correlation_id: { description: 'The correlation id (`metadata.correlation_id`).', example: 'req_abc123' },
    }),
    responses: {
      200: {
        description: 'The workflow and its summary.',
        schema: CorrelationTrace,
        example: {
          correlation_id: 'req_abc123',
          events: [
            storedExample(41, 'order.created', 'order-service', { order_id: 'ord_xyz789' }),
            storedExample(44, 'order.failed', 'provisioning-service', { order_id: 'ord_xyz789', reason: 'quota exceeded' }),
          ],
          truncated: false,
          summary: {
            count: 2,
            first_timestamp: '2026-03-15T10:05:22.000Z',
            last_timestamp: '2026-03-15T10:05:22.000Z',
            sources: ['order-service', 'provisioning-service'],
            types: ['order.created', 'order.failed'],
            failed: true,
            failures: [
              {
                seq: 44,
                id: 'evt_44',
                type: 'order.failed',
                source: 'provisioning-service',
                timestamp: '2026-03-15T10:05:22Z',
                rule: 'type',
                reason: 'quota exceeded',
              },
            ],
            compensations: [],
          },
        },
      },
    },
    errors: [...BUS_ERRORS, 'GW_NOT_FOUND', 'GW_RATE_LIMITED'],
  },
] as const satisfies readonly OperationSpec[];

export const HISTORY_COMPONENTS = [
  StoredEvent,
  EventPage,
  CorrelationTrace,
  CorrelationSummary,
  FailedStep,
  Compensation,
  StoredCloudEvent,
];
