// The event envelope of the design (shared/seed/event-bus.md), as TypeBox schemas. These are the
// single source of the runtime validators, the OpenAPI document and the generated clients.
import { type Static, Type } from '@sinclair/typebox';

/**
 * Identifiers that become NATS subject tokens (`id`, `tenant_id`, `correlation_id`): no dots,
 * wildcards or whitespace can reach a subject, so no input can address another tenant's space.
 */
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{1,128}$';
/** `domain.action` in lower snake case, e.g. `order.created`, `resource.status_changed`. */
export const EVENT_TYPE_PATTERN = '^[a-z][a-z0-9_]{0,63}\\.[a-z][a-z0-9_]{0,63}$';
/** `MAJOR.MINOR`. */
export const VERSION_PATTERN = '^(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})$';

export const Token = (description: string, examples: string[]) =>
  Type.String({ pattern: TOKEN_PATTERN, minLength: 1, maxLength: 128, description, examples });

export const EventType = Type.String({
  pattern: EVENT_TYPE_PATTERN,
  maxLength: 129,
  description: '`domain.action` in lower snake case.',
  examples: ['order.created'],
});

export const EventVersion = Type.String({
  pattern: VERSION_PATTERN,
  description: 'Schema version of `data`, `MAJOR.MINOR`.',
  examples: ['1.0'],
});

const Timestamp = Type.String({
  format: 'date-time',
  description: 'RFC 3339 time the event happened.',
  examples: ['2026-03-15T10:05:22Z'],
});

const Source = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The service that produced the event.',
  examples: ['provisioning-service'],
});

const TraceId = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'Distributed trace id; filled from a W3C `traceparent` header when omitted.',
  examples: ['trace_def456'],
});

const CorrelationId = Token('Shared by every event of one workflow; defaults to the `X-Correlation-Id` header, else the event id.', [
  'req_abc123',
]);

const EventData = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Payload; its schema is chosen by `type` (see `GET /v1/event-types`).',
});

/** An envelope as stored on the bus and delivered to subscribers: every field present. */
export const EventEnvelope = Type.Object(
  {
    id: Token('Unique event id; the dedupe key within the duplicate window.', ['evt_abc123']),
    type: EventType,
    version: EventVersion,
    tenant_id: Token('Owning tenant.', ['ten_xyz789']),
    timestamp: Timestamp,
    source: Source,
    data: EventData,
    metadata: Type.Object(
      { correlation_id: CorrelationId, trace_id: Type.Optional(TraceId) },
      { additionalProperties: Type.String({ maxLength: 1024 }) },
    ),
  },
  { additionalProperties: false, title: 'EventEnvelope' },
);
export type EventEnvelope = Static<typeof EventEnvelope>;

/**
 * What a client publishes: the envelope with every field the gateway can fill left optional
 * (`id`, `timestamp`, `tenant_id`, `version`, `metadata` and its fields).
 */
export const EventInput = Type.Object(
  {
    id: Type.Optional(Token('Unique event id; generated (`evt_` prefix) when omitted. Retry with the same id.', ['evt_abc123'])),
    type: EventType,
    version: Type.Optional(EventVersion),
    tenant_id: Type.Optional(Token("Must equal the API key's tenant; filled from it when omitted.", ['ten_xyz789'])),
    timestamp: Type.Optional(Timestamp),
    source: Source,
    data: EventData,
    metadata: Type.Optional(
      Type.Object(
        { correlation_id: Type.Optional(CorrelationId), trace_id: Type.Optional(TraceId) },
        { additionalProperties: Type.String({ maxLength: 1024 }) },
      ),
    ),
  },
  {
    title: 'EventInput',
    additionalProperties: false,
    examples: [
      {
        id: 'evt_abc123',
        type: 'order.provisioned',
        version: '1.0',
        tenant_id: 'ten_xyz789',
        timestamp: '2026-03-15T10:05:22Z',
        source: 'provisioning-service',
        data: {
          order_id: 'ord_xyz789',
          resources: [{ id: 'res_vm_001', type: 'virtual_machine', status: 'running' }],
        },
        metadata: { correlation_id: 'req_abc123', trace_id: 'trace_def456' },
      },
    ],
  },
);
export type EventInput = Static<typeof EventInput>;
