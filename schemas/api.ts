// Request and response bodies of the REST API (besides the envelope itself).
import { type Static, Type } from '@sinclair/typebox';
import { EventInput } from './envelope.ts';
import { ErrorCode, FieldError, Problem } from './errors.ts';

// The problem document and the error codes live in the catalogue (schemas/errors.ts).
export { ErrorCode, FieldError, Problem };

export const PublishResult = Type.Object(
  {
    id: Type.String({ description: 'The event id (generated when the request had none).', examples: ['evt_01J9Z3K4M5N6P7Q8R9S0T1V2W3'] }),
    seq: Type.Integer({ minimum: 1, description: 'Stream sequence the event is stored at.', examples: [42] }),
    stream: Type.String({ examples: ['EVENTS'] }),
    duplicate: Type.Boolean({ description: 'True when this id was already stored within the duplicate window; `seq` is the original.' }),
  },
  { title: 'PublishResult' },
);
export type PublishResult = Static<typeof PublishResult>;

export const BatchRequest = Type.Object(
  {
    events: Type.Array(Type.Unknown({ description: 'An EventInput; each entry is validated on its own.' }), {
      minItems: 1,
      description: 'Events to publish, 1 to BATCH_MAX_EVENTS (default 500). Each is validated as an `EventInput`.',
    }),
  },
  { title: 'BatchRequest', additionalProperties: false },
);
export type BatchRequest = Static<typeof BatchRequest>;

export const BatchItemStored = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer({ minimum: 1 }),
    duplicate: Type.Boolean(),
  },
  { title: 'BatchItemStored', additionalProperties: false },
);
export type BatchItemStored = Static<typeof BatchItemStored>;

export const BatchItemFailed = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: 'Position of the failed event in the request.' }),
    error: Type.Object({
      code: ErrorCode,
      message: Type.String(),
      errors: Type.Optional(Type.Array(FieldError)),
    }),
  },
  { title: 'BatchItemFailed', additionalProperties: false },
);
export type BatchItemFailed = Static<typeof BatchItemFailed>;

/** One entry of a batch answer: stored, or failed with its index. */
export const BatchItem = Type.Union([BatchItemStored, BatchItemFailed]);
export type BatchItem = Static<typeof BatchItem>;

export const BatchResult = Type.Object(
  {
    results: Type.Array(BatchItem, { description: 'One result per input event, in input order.' }),
    failed: Type.Integer({ minimum: 0, description: 'How many events were not stored.' }),
  },
  { title: 'BatchResult' },
);
export type BatchResult = Static<typeof BatchResult>;

export const EventTypeInfo = Type.Object(
  {
    type: Type.String({ examples: ['order.created'] }),
    version: Type.String({ examples: ['1.0'] }),
    description: Type.String(),
    builtin: Type.Boolean({ description: 'False for types registered by the operator.' }),
    schema: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of `data`.' }),
  },
  { title: 'EventTypeInfo' },
);
export type EventTypeInfo = Static<typeof EventTypeInfo>;

export const EventTypeList = Type.Object({ types: Type.Array(EventTypeInfo) }, { title: 'EventTypeList' });
export type EventTypeList = Static<typeof EventTypeList>;

export const Health = Type.Object({ status: Type.Literal('ok') }, { title: 'Health' });
export type Health = Static<typeof Health>;

export const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    nats: Type.Boolean({ description: 'Connected to NATS.' }),
    stream: Type.Boolean({ description: 'The event stream answers.' }),
  },
  { title: 'Readiness' },
);
export type Readiness = Static<typeof Readiness>;

export { EventInput };
