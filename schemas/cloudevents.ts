// CloudEvents 1.0 (https://github.com/cloudevents/spec) as the gateway takes and gives them: the
// structured-mode JSON object, a batch of them, and the `format` choice of deliveries and reads.
// The mapping to and from the envelope is src/cloudevents.ts; docs/cloudevents.md explains it.
import { type Static, Type } from '@sinclair/typebox';
import { CorrelationId, describe, EventId, EventType, EventVersion, TenantId } from './identifiers.ts';
import { parametersOf } from './openapi-builder.ts';

/** The media types of CloudEvents' HTTP binding (structured mode, batched mode). */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

/** Extension attribute names: lower-case letters and digits, at most 20 (CloudEvents 1.0). */
export const EXTENSION_NAME_PATTERN = '^[a-z0-9]{1,20}$';

const ExtensionValue = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

/**
 * A CloudEvent in structured mode (`application/cloudevents+json`). Extension attributes other
 * than the named ones are kept as `metadata` entries of the envelope (strings).
 */
export const CloudEvent = Type.Object(
  {
    specversion: Type.Literal('1.0', { description: 'CloudEvents version; only `1.0` is taken.' }),
    id: describe(EventId, 'The envelope `id`: the dedupe key within the duplicate window (letters, digits, `_`, `-`).'),
    source: Type.String({ minLength: 1, maxLength: 256, description: 'The envelope `source`.', examples: ['provisioning-service'] }),
    type: describe(EventType, 'The envelope `type`: an event type of the catalogue (`GET /v1/event-types`).'),
    time: Type.Optional(Type.String({ format: 'date-time', description: 'The envelope `timestamp`; filled with now when omitted.' })),
    datacontenttype: Type.Optional(
      Type.String({ maxLength: 256, description: 'Only JSON (`application/json`, `*/*+json`); anything else is refused with 415.' }),
    ),
    dataschema: Type.Optional(Type.String({ maxLength: 1024, description: 'Kept as `metadata.dataschema`.' })),
    subject: Type.Optional(Type.String({ maxLength: 1024, description: 'Kept as `metadata.subject`.' })),
    data: Type.Optional(Type.Unknown({ description: 'The envelope `data`: a JSON object, validated against the schema of `type`.' })),
    data_base64: Type.Optional(Type.String({ description: 'Binary data is not taken (415).' })),
    tenantid: Type.Optional(describe(TenantId, "Extension: the envelope `tenant_id`; must equal the API key's tenant (403 otherwise).")),
    dataversion: Type.Optional(describe(EventVersion, 'Extension: the envelope `version` (major.minor of the type).')),
    correlationid: Type.Optional(describe(CorrelationId, 'Extension: `metadata.correlation_id`.')),
    causationid: Type.Optional(Type.String({ maxLength: 1024, description: 'Extension: `metadata.causation_id`.' })),
    traceparent: Type.Optional(
      Type.String({
        maxLength: 256,
        description: 'Distributed tracing extension: W3C trace context of the event; its trace id fills `metadata.trace_id`.',
      }),
    ),
    tracestate: Type.Optional(Type.String({ maxLength: 512, description: 'Distributed tracing extension: W3C `tracestate`.' })),
  },
  {
    title: 'CloudEvent',
    additionalProperties: ExtensionValue,
    description:
      'A CloudEvents 1.0 event in structured mode. Other extension attributes (names of 1-20 lower-case letters and digits) are kept as `metadata` entries. See docs/cloudevents.md.',
    examples: [
      {
        specversion: '1.0',
        id: 'evt_abc123',
        source: 'provisioning-service',
        type: 'order.provisioned',
        time: '2026-03-15T10:05:22Z',
        datacontenttype: 'application/json',
        dataversion: '1.0',
        tenantid: 'ten_xyz789',
        correlationid: 'req_abc123',
        data: { order_id: 'ord_xyz789', resources: [{ id: 'res_vm_001', type: 'virtual_machine', status: 'running' }] },
      },
    ],
  },
);
/** Extension attributes beyond the named ones are strings, numbers or booleans. */
export type CloudEvent = Static<typeof CloudEvent> & { [extension: string]: unknown };

/** `application/cloudevents-batch+json`: a JSON array of structured CloudEvents, each taken or refused on its own. */
export const CloudEventBatch = Type.Array(Type.Unknown({ description: 'A CloudEvent; each entry is validated on its own.' }), {
  minItems: 1,
  title: 'CloudEventBatch',
  description: 'A CloudEvents batch: 1 to BATCH_MAX_EVENTS (default 500) structured CloudEvents.',
});
export type CloudEventBatch = Static<typeof CloudEventBatch>;

/** How deliveries and reads show events: the gateway's envelope (default) or a CloudEvent. */
export const EventFormat = Type.Union([Type.Literal('envelope'), Type.Literal('cloudevents')], {
  title: 'EventFormat',
  description: '`envelope` (default): the gateway envelope. `cloudevents`: a CloudEvents 1.0 structured-mode object (docs/cloudevents.md).',
});
export type EventFormat = Static<typeof EventFormat>;

/** The `format` query parameter of HTTP reads (`GET /v1/events`, `POST /v1/consumers/{name}/fetch`). */
export const FormatQuery = Type.Object({ format: Type.Optional(EventFormat) });

export const FORMAT_PARAMETERS = parametersOf('query', FormatQuery, {
  format: {
    description:
      '`envelope` (default) or `cloudevents`: each `event` is then a CloudEvents 1.0 structured-mode object (docs/cloudevents.md).',
    example: 'cloudevents',
  },
});

/** A CloudEvents batch as the gateway answers it (`Accept: application/cloudevents-batch+json`). */
export const CloudEventList = Type.Array(CloudEvent, { description: 'Structured-mode CloudEvents, in sequence order.' });
