// The WebSocket subscription protocol (GET /v1/ws): every frame either side sends, as TypeBox
// schemas. They are the single source of the runtime frame validators (src/subscriptions/) and of
// asyncapi/asyncapi.json (scripts/generate-asyncapi.ts); docs/websocket.md explains them.
import { type Static, Type } from '@sinclair/typebox';
import { CloudEvent, EventFormat } from './cloudevents.ts';
import { ErrorCode, FieldError } from './errors.ts';
import { EventEnvelope } from './envelope.ts';
import { GroupName, Sequence, SubscriptionId } from './identifiers.ts';
import type { OperationSpec } from './openapi-builder.ts';
import { StartPosition, TypePattern } from './stream-selection.ts';

// The frames' start position; the generators read it from this module with the frames.
export { StartPosition };

/** Close codes the gateway uses; clients branch on them. */
export const CLOSE_CODES = {
  GOING_AWAY: { code: 1001, reason: 'The gateway is shutting down; reconnect (to another instance).' },
  TRANSPORT_FRAME_LIMIT: {
    code: 1009,
    reason: 'The client sent a frame above the transport cap (2 x WS_MAX_FRAME_BYTES); it is not even read.',
  },
  FLOOD: {
    code: 4008,
    reason:
      'The client sent more than WS_MAX_FRAMES_PER_SECOND frames (acks and naks: WS_MAX_ACKS_PER_SECOND, refused ones counting against both) in one second.',
  },
  FRAME_TOO_LARGE: { code: 4009, reason: 'The client sent a frame larger than WS_MAX_FRAME_BYTES.' },
  SLOW_CONSUMER: {
    code: 4010,
    reason:
      'Slow consumer, with a reason: a live auto-ack subscription fell more than WS_SEND_BUFFER_BYTES behind, or the client left events unread so long that it could not answer a ping for a whole WS_PING_INTERVAL.',
  },
  KEY_REVOKED: {
    code: 4001,
    reason:
      'The API key the connection was opened with (directly or through its ticket) was revoked (DELETE /v1/admin/keys/{key_id}) or expired (the reason says which); do not reconnect with it.',
  },
  TENANT_DISABLED: {
    code: 4003,
    reason:
      'The tenant was disabled (PUT /v1/admin/tenants/{tenant_id}); upgrades are refused with 403 GW_TENANT_DISABLED until it is enabled again.',
  },
} as const;

const Seq = Sequence({ description: 'Stream sequence of the event.', examples: [42] });

export const SubscribeFrame = Type.Object(
  {
    op: Type.Literal('subscribe'),
    sub: SubscriptionId,
    types: Type.Array(TypePattern, { minItems: 1, maxItems: 32, description: 'Event type patterns; an event matching any is delivered.' }),
    from: Type.Optional(StartPosition),
    ack: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('client')], {
        description:
          '`auto` (default): the gateway acknowledges an event once its frame is written. `client`: at-least-once; the client sends `ack` (or `nak`) for each `seq`, an event not acknowledged within the ack wait is delivered again.',
      }),
    ),
    group: Type.Optional(GroupName),
    filter: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Content filter on the envelope, evaluated by the gateway (docs/content-filter.md); filtered-out events are never sent.',
      }),
    ),
    format: Type.Optional(EventFormat),
  },
  { additionalProperties: false, title: 'SubscribeFrame', description: 'Client → gateway: start a subscription.' },
);
export type SubscribeFrame = Static<typeof SubscribeFrame>;

/** Most sequences one batched `ack` or `nak` may name. */
export const MAX_ACK_BATCH = 1000;

/** Which events an `ack` or `nak` settles: exactly one of `seq`, `seqs`, `up_to`. */
const settles = {
  seq: Type.Optional(Sequence({ description: 'One event: its stream sequence.', examples: [42] })),
  seqs: Type.Optional(
    Type.Array(Sequence(), {
      minItems: 1,
      maxItems: MAX_ACK_BATCH,
      description: `A batch: the stream sequences of up to ${MAX_ACK_BATCH} events of the subscription. Those not in flight are named in one \`GW_NOT_IN_FLIGHT\` error frame (\`errors[].pointer\` \`/seqs/<index>\`); the others are settled.`,
      examples: [[42, 43, 45]],
    }),
  ),
  up_to: Type.Optional(
    Sequence({
      description:
        'Cumulative: every event of the subscription in flight with a stream sequence at or below this one. Settling none is not an error.',
      examples: [45],
    }),
  ),
};

/** The fields of which an `ack` or `nak` names exactly one. */
export const SETTLE_FIELDS = ['seq', 'seqs', 'up_to'] as const;

export const AckFrame = Type.Object(
  { op: Type.Literal('ack'), sub: SubscriptionId, ...settles },
  {
    additionalProperties: false,
    title: 'AckFrame',
    description:
      'Client → gateway: events are processed (client-ack subscriptions). Exactly one of `seq` (one event), `seqs` (a batch) or `up_to` (every event in flight up to that sequence).',
  },
);
export type AckFrame = Static<typeof AckFrame>;

export const NakFrame = Type.Object(
  {
    op: Type.Literal('nak'),
    sub: SubscriptionId,
    ...settles,
    delay_ms: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Redeliver after this delay (default: at once).' }),
    ),
  },
  {
    additionalProperties: false,
    title: 'NakFrame',
    description:
      'Client → gateway: deliver events again (client-ack subscriptions). Exactly one of `seq`, `seqs` or `up_to`, as for `ack`.',
  },
);
export type NakFrame = Static<typeof NakFrame>;

export const UnsubscribeFrame = Type.Object(
  { op: Type.Literal('unsubscribe'), sub: SubscriptionId },
  {
    additionalProperties: false,
    title: 'UnsubscribeFrame',
    description: 'Client → gateway: stop a subscription (unacknowledged events of a group go to other members).',
  },
);
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;

/** Client frames by `op`: a frame is validated against the schema its `op` names. */
export const CLIENT_FRAMES = { subscribe: SubscribeFrame, ack: AckFrame, nak: NakFrame, unsubscribe: UnsubscribeFrame } as const;

/** Any client frame. */
export const ClientFrame = Type.Union([SubscribeFrame, AckFrame, NakFrame, UnsubscribeFrame]);
export type ClientFrame = Static<typeof ClientFrame>;

export const SubscribedFrame = Type.Object(
  {
    op: Type.Literal('subscribed'),
    sub: SubscriptionId,
    ack: Type.Union([Type.Literal('auto'), Type.Literal('client')]),
    group: Type.Optional(Type.String()),
    start: Type.Union([Type.Literal('new'), Type.Literal('position')], {
      description: '`new`: only events stored from now on. `position`: from `start_seq` (or, for a group that exists, from its position).',
    }),
    start_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'Stream sequence delivery starts at (replays).' })),
    truncated: Type.Boolean({
      description:
        'True when the requested start is older than the oldest event the stream still holds; delivery starts at the oldest held (`start_seq`).',
    }),
    resumed_group: Type.Optional(
      Type.Boolean({ description: 'The group existed: delivery continues from its position, `from` is ignored.' }),
    ),
  },
  { additionalProperties: false, title: 'SubscribedFrame', description: 'Gateway → client: the subscription is active.' },
);
export type SubscribedFrame = Static<typeof SubscribedFrame>;

export const UnsubscribedFrame = Type.Object(
  { op: Type.Literal('unsubscribed'), sub: SubscriptionId },
  { additionalProperties: false, title: 'UnsubscribedFrame', description: 'Gateway → client: the subscription is gone.' },
);
export type UnsubscribedFrame = Static<typeof UnsubscribedFrame>;

export const EventFrame = Type.Object(
  {
    op: Type.Literal('event'),
    sub: SubscriptionId,
    seq: Seq,
    delivery: Type.Integer({
      minimum: 1,
      description: 'How many times this event was delivered to the subscription (or group); 1 the first time.',
    }),
    traceparent: Type.Optional(
      Type.String({
        description:
          "The W3C trace context the event was published with (its publisher's `traceparent`, or the gateway's `send` span when tracing is on): continue the trace from here. Absent when the event was published without one.",
        examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      }),
    ),
    tracestate: Type.Optional(Type.String({ description: 'The W3C `tracestate` that travelled with `traceparent`, when there was one.' })),
    event: Type.Union([EventEnvelope, CloudEvent], {
      description: 'The envelope, or with `format: "cloudevents"` a structured-mode CloudEvent (docs/cloudevents.md).',
    }),
  },
  { additionalProperties: false, title: 'EventFrame', description: 'Gateway → client: one event.' },
);
export type EventFrame = Static<typeof EventFrame>;

export const ErrorFrame = Type.Object(
  {
    op: Type.Literal('error'),
    sub: Type.Optional(SubscriptionId),
    code: ErrorCode,
    message: Type.String(),
    errors: Type.Optional(Type.Array(FieldError, { description: 'Each failing field of the frame.' })),
    resume_from: Type.Optional(
      Sequence({
        description:
          'A subscription that failed after it started (its consumer was lost): subscribe again with `from: {"seq": resume_from}` to miss nothing. Every event before it was delivered and acknowledged.',
        examples: [1043],
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'ErrorFrame',
    description: 'Gateway → client: a frame was refused, or a subscription failed (`sub` says which). The connection stays open.',
  },
);
export type ErrorFrame = Static<typeof ErrorFrame>;

/** Any gateway frame. */
export const ServerFrame = Type.Union([SubscribedFrame, UnsubscribedFrame, EventFrame, ErrorFrame]);
export const SERVER_FRAMES = ServerFrame.anyOf;
export type ServerFrame = Static<typeof ServerFrame>;

/** `POST /v1/ws-tickets`. */
export const WsTicket = Type.Object(
  {
    ticket: Type.String({ description: 'Pass as `GET /v1/ws?ticket=<ticket>`; single use.' }),
    expires_at: Type.String({ format: 'date-time', description: 'The ticket is refused after this time.' }),
  },
  { title: 'WsTicket' },
);
export type WsTicket = Static<typeof WsTicket>;

export const WS_OPERATIONS = [
  {
    method: 'post',
    path: '/v1/ws-tickets',
    operationId: 'createWsTicket',
    summary: 'A WebSocket ticket for browsers',
    description:
      'Browsers cannot send `Authorization` on a WebSocket, and an API key must never appear in a URL. A service holding a key with the `subscribe` scope ' +
      "asks for a ticket and hands it to the browser, which connects to `GET /v1/ws?ticket=<ticket>`. A ticket stands for the key's tenant, is valid for " +
      'WS_TICKET_TTL (default 30 s) and works once, on any instance sharing WS_TICKET_SECRET. See docs/websocket.md.',
    tag: 'subscribe',
    scope: 'subscribe',
    responses: {
      201: {
        description: 'A ticket.',
        schema: WsTicket,
        example: { ticket: 'eyJ0IjoidGVuX3h5ejc4OSIsLi4ufQ.c2lnbmF0dXJl', expires_at: '2026-03-15T10:05:52Z' },
      },
    },
    errors: [],
  },
] as const satisfies readonly OperationSpec[];
