// Server-Sent Events (GET /v1/events/stream): the operation, its query and headers, and what the
// stream carries. The handler is routes/streamEvents.ts, the sink src/delivery/sinks/sse.ts;
// docs/sse.md explains the protocol.
import { type Static, Type } from '@sinclair/typebox';
import { BUS_ERRORS, type OperationSpec, parametersOf } from './openapi-builder.ts';
import { EventFormat } from './cloudevents.ts';
import { Sequence } from './identifiers.ts';

const TypePatterns = Type.Array(Type.String({ minLength: 1, maxLength: 129 }), { maxItems: 32 });

/** The query of `GET /v1/events/stream`. */
export const StreamEventsQuery = Type.Object({
  types: Type.Optional(TypePatterns),
  filter: Type.Optional(Type.String({ minLength: 2, maxLength: 4096 })),
  from_seq: Type.Optional(Sequence()),
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  format: Type.Optional(EventFormat),
});
export type StreamEventsQuery = Static<typeof StreamEventsQuery>;

/** The headers of `GET /v1/events/stream`. */
export const StreamEventsHeaders = Type.Object({
  'Last-Event-ID': Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })),
});

/** The control event (`event: close`) a stream sends before the gateway ends it. */
export const StreamClose = Type.Object(
  {
    reason: Type.Union(
      [
        Type.Literal('slow_consumer'),
        Type.Literal('shutting_down'),
        Type.Literal('error'),
        Type.Literal('tenant_disabled'),
        Type.Literal('key_revoked'),
      ],
      {
        description:
          '`slow_consumer`: a live stream fell more than WS_SEND_BUFFER_BYTES behind, or its reader left bytes unread for a whole SSE_HEARTBEAT_INTERVAL; `shutting_down`: the instance stops (reconnect, to another instance); `error`: the delivery failed (`code`); ' +
          '`tenant_disabled`: an administrator disabled the tenant (the WebSocket close 4003; reconnecting is refused with 403 GW_TENANT_DISABLED); `key_revoked`: the API key the stream was opened with (directly or through a ticket) was revoked or expired (the WebSocket close 4001; reconnecting with it is refused with 401).',
      },
    ),
    message: Type.String(),
    code: Type.Optional(Type.String({ description: 'The error code, for `error`.' })),
    last_id: Type.Optional(Type.Integer({ minimum: 1, description: 'The last event id written on this stream: resume after it.' })),
  },
  { title: 'StreamClose', additionalProperties: false },
);
export type StreamClose = Static<typeof StreamClose>;

const STREAM_EXAMPLE =
  'id: 42\nevent: order.created\ndata: {"id":"evt_abc123","type":"order.created","version":"1.0","tenant_id":"ten_xyz789","timestamp":"2026-03-15T10:05:22Z","source":"order-service","data":{"order_id":"ord_xyz789"},"metadata":{"correlation_id":"req_abc123"}}\n\n' +
  ': hb\n\n';

export const SSE_OPERATIONS = [
  {
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamEvents',
    summary: 'Live events as Server-Sent Events',
    description:
      "The key's tenant's events as they are stored, as a `text/event-stream`: each event is `id: <stream sequence>`, `event: <type>`, `data: <the envelope as one line of JSON>`. " +
      'Without a position only new events are sent; `Last-Event-ID` (what EventSource sends when it reconnects) resumes at the event after that sequence, `from_seq` starts at that sequence: no gap and no duplicate, and the stream goes on live. ' +
      'A `: hb` comment every SSE_HEARTBEAT_INTERVAL (default 15 s) keeps proxies from closing an idle stream. Type patterns, content filter, tenant isolation and slow-reader handling are those of WebSocket subscriptions: ' +
      'a live stream more than WS_SEND_BUFFER_BYTES behind is ended (`event: close`, reason `slow_consumer`; reconnect with `Last-Event-ID` to resume without loss), a resumed stream pauses instead. ' +
      'Browsers (EventSource cannot send `Authorization`) pass a single-use `ticket` from `POST /v1/ws-tickets`. Errors before the stream starts are problem documents. See docs/sse.md.',
    tag: 'subscribe',
    scope: 'subscribe',
    ticket: true,
    parameters: [
      ...parametersOf('query', StreamEventsQuery, {
        types: {
          description:
            'Type patterns: `order.created` (one type), `order.*` (a domain) or `*` (all). Comma-separated or repeated; an event matching any pattern is sent. Omitted: all.',
          example: ['order.*'],
        },
        filter: {
          description: 'A content filter (docs/content-filter.md) as JSON, URL-encoded; events it rejects are not sent.',
          example: '{"data":{"order_id":[{"prefix":"ord_"}]}}',
        },
        from_seq: {
          description:
            'Start at this stream sequence (inclusive; resume with the last `id` + 1), then go on live. `Last-Event-ID` takes precedence. Omitted: only new events.',
        },
        ticket: {
          description:
            'A single-use ticket from `POST /v1/ws-tickets`, instead of `Authorization` (browsers). Never put an API key in a URL.',
        },
        format: {
          description:
            '`envelope` (default): each `data:` is the stored envelope; `cloudevents`: a structured-mode CloudEvent 1.0 (docs/cloudevents.md).',
          example: 'cloudevents',
        },
      }),
      ...parametersOf('header', StreamEventsHeaders, {
        'Last-Event-ID': {
          description: 'The `id` of the last event received: the stream resumes at the next event of the tenant matching the selection.',
          example: '42',
        },
      }),
    ],
    responses: {
      200: {
        description:
          'The stream (`text/event-stream`), until the client disconnects. Before the gateway ends it, it sends `event: close` with a `StreamClose` JSON object; `X-Start-Seq` is the first sequence the stream can send when it starts from a position, and `X-Stream-Truncated: true` says that position was older than the oldest event still stored.',
        mediaType: 'text/event-stream',
        schema: Type.String({
          description: 'Server-Sent Events: `id`, `event`, `data` per event; `: hb` comments; a final `event: close`.',
        }),
        example: STREAM_EXAMPLE,
        headers: {
          'X-Start-Seq': {
            description: 'The first sequence the stream sends, when it starts from a position.',
            schema: { type: 'integer' },
          },
          'X-Stream-Truncated': {
            description: '`true` when the position was older than the oldest event still stored: the stream starts at the oldest.',
            schema: { type: 'string', enum: ['true'] },
          },
        },
      },
    },
    errors: ['GW_INVALID_FILTER', ...BUS_ERRORS],
  },
] as const satisfies readonly OperationSpec[];

export const SSE_COMPONENTS = [StreamClose];
