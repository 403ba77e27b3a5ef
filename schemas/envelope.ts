// The event envelope of the design (shared/seed/event-bus.md), as TypeBox schemas. These are the
// single source of the runtime validators, the OpenAPI document and the generated clients.
import { type Static, Type } from '@sinclair/typebox';
import {
  CorrelationId,
  describe,
  EVENT_TYPE_PATTERN,
  EventId,
  EventType,
  EventVersion,
  TenantId,
  TOKEN_PATTERN,
  VERSION_PATTERN,
} from './identifiers.ts';

// The identifiers (their patterns and guards) live in identifiers.ts; re-exported for importers.
export { EVENT_TYPE_PATTERN, EventType, EventVersion, TOKEN_PATTERN, VERSION_PATTERN };

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

const EventData = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Payload; its schema is chosen by `type` (see `GET /v1/event-types`).',
});

/** An envelope as stored on the bus and delivered to subscribers: every field present. */
export const EventEnvelope = Type.Object(
  {
    id: EventId,
    type: EventType,
    version: EventVersion,
    tenant_id: TenantId,
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
    id: Type.Optional(describe(EventId, 'Unique event id; generated (`evt_` prefix) when omitted. Retry with the same id.')),
    type: EventType,
    version: Type.Optional(EventVersion),
    tenant_id: Type.Optional(describe(TenantId, "Must equal the API key's tenant; filled from it when omitted.")),
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
