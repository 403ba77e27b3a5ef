// Dead letters: `GET /v1/dead-letters` and `POST /v1/dead-letters/redrive`. Operations, parameters
// and bodies; the handlers are routes/listDeadLetters.ts and routes/redriveDeadLetters.ts, the
// behaviour src/bus/dead-letters.ts (see docs/consumers.md).
import { type Static, Type } from '@sinclair/typebox';
import { ErrorCode } from './errors.ts';
import { DELIVERED_EVENT_EXAMPLE } from './consumers.ts';
import { EventEnvelope } from './envelope.ts';
import { ConsumerName, Sequence } from './identifiers.ts';
import { BUS_ERRORS, type OperationSpec, parametersOf } from './openapi-builder.ts';
import { TypePattern } from './stream-selection.ts';

export const DEAD_LETTERS_MAX_LIMIT = 100;
export const DEAD_LETTERS_DEFAULT_LIMIT = 20;
export const REDRIVE_MAX = 1000;

/** Whose dead letters: a consumer's name, or `webhook:<name>` for a webhook's (schemas/webhooks.ts). */
export const DeadLetterOwner = Type.String({ pattern: `^(webhook:)?${ConsumerName.pattern?.slice(1)}`, examples: ['billing'] });

export const DeadLetter = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'Sequence in the dead-letter stream: the handle for redrive and paging.' }),
    consumer: Type.String({ description: 'The consumer that failed to process it (`webhook:<name>` for a webhook).' }),
    reason: Type.String({
      description: '`max_deliver_exceeded`, or `undecodable` for a stored message that is not an event.',
      examples: ['max_deliver_exceeded'],
    }),
    delivery_count: Type.Integer({ minimum: 0, description: 'Deliveries when it was dead-lettered.' }),
    original_seq: Type.Integer({ minimum: 0, description: 'Its sequence in the event stream.' }),
    dead_lettered_at: Type.String({ format: 'date-time' }),
    event: Type.Union([EventEnvelope, Type.Null()]),
  },
  { title: 'DeadLetter', additionalProperties: false },
);
export type DeadLetter = Static<typeof DeadLetter>;

export const DeadLetterPage = Type.Object(
  {
    dead_letters: Type.Array(DeadLetter, { description: 'In dead-letter sequence order.' }),
    next_after_seq: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Pass as `after_seq` for the next page; absent on the last page.' }),
    ),
  },
  { title: 'DeadLetterPage', additionalProperties: false },
);
export type DeadLetterPage = Static<typeof DeadLetterPage>;

const DryRun = Type.Boolean({
  description:
    'Only count: answer what a redrive would do (`would_redrive` per dead letter that would go back, `not_found`, `failed`) and change nothing.',
});

export const RedriveRequest = Type.Union(
  [
    Type.Object(
      {
        seqs: Type.Array(Sequence(), {
          minItems: 1,
          maxItems: REDRIVE_MAX,
          description: 'Dead-letter sequences to redrive.',
        }),
        dry_run: Type.Optional(DryRun),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        filter: Type.Object(
          {
            consumer: Type.Optional(DeadLetterOwner),
            types: Type.Optional(Type.Array(TypePattern, { minItems: 1, maxItems: 32 })),
          },
          { additionalProperties: false, description: 'Every dead letter of the tenant matching all given fields (`{}`: all).' },
        ),
        limit: Type.Optional(
          Type.Integer({ minimum: 1, maximum: REDRIVE_MAX, description: `Most to redrive in this call (default ${REDRIVE_MAX}).` }),
        ),
        dry_run: Type.Optional(DryRun),
      },
      { additionalProperties: false },
    ),
  ],
  { title: 'RedriveRequest', description: 'Either `seqs`, or a `filter`.' },
);
export type RedriveRequest = Static<typeof RedriveRequest>;

export const RedriveItem = Type.Union(
  [
    Type.Object(
      {
        seq: Type.Integer(),
        status: Type.Literal('redriven'),
        consumer: Type.String(),
        redriven_seq: Type.Integer({ description: 'Its new sequence in the event stream.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object({ seq: Type.Integer(), status: Type.Literal('not_found') }, { additionalProperties: false }),
    Type.Object(
      {
        seq: Type.Integer(),
        status: Type.Literal('would_redrive', { description: 'Dry run only: a redrive would put it back to `consumer`.' }),
        consumer: Type.String(),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        seq: Type.Integer(),
        status: Type.Literal('failed'),
        error: Type.Object({ code: ErrorCode, message: Type.String() }, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
  ],
  { title: 'RedriveItem' },
);
export type RedriveItem = Static<typeof RedriveItem>;

export const RedriveResult = Type.Object(
  {
    results: Type.Array(RedriveItem, { description: 'One per chosen dead letter (per requested `seq`, in request order).' }),
    redriven: Type.Integer({ minimum: 0 }),
    dry_run: Type.Optional(Type.Boolean({ description: 'Present and true when this was a dry run: nothing was redriven.' })),
    would_redrive: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Dry run only: how many of the chosen dead letters a redrive would put back.' }),
    ),
  },
  { title: 'RedriveResult', additionalProperties: false },
);
export type RedriveResult = Static<typeof RedriveResult>;

/** The query of `GET /v1/dead-letters`; `limit` is filled with its default when absent. */
export const ListDeadLettersQuery = Type.Object({
  consumer: Type.Optional(DeadLetterOwner),
  after_seq: Type.Optional(Sequence({ minimum: 0 })),
  limit: Type.Integer({ minimum: 1, maximum: DEAD_LETTERS_MAX_LIMIT, default: DEAD_LETTERS_DEFAULT_LIMIT }),
});
export type ListDeadLettersQuery = Static<typeof ListDeadLettersQuery>;

export const DEAD_LETTER_OPERATIONS = [
  {
    method: 'get',
    path: '/v1/dead-letters',
    operationId: 'listDeadLetters',
    summary: "The tenant's dead letters",
    description:
      'Events a consumer failed to process `max_deliver` times, with the reason, delivery count, consumer, original sequence and the event, oldest first, a page at a time. ' +
      'They are kept for DEAD_LETTER_MAX_AGE.',
    tag: 'consumers',
    scope: 'read',
    parameters: parametersOf('query', ListDeadLettersQuery, {
      consumer: { description: "Only this consumer's dead letters (`webhook:<name>`: a webhook's).", example: 'billing' },
      after_seq: { description: '`next_after_seq` of the previous page.' },
      limit: { description: `Most dead letters in the page (default ${DEAD_LETTERS_DEFAULT_LIMIT}).` },
    }),
    responses: {
      200: {
        description: 'One page.',
        schema: DeadLetterPage,
        example: {
          dead_letters: [
            {
              seq: 7,
              consumer: 'billing',
              reason: 'max_deliver_exceeded',
              delivery_count: 6,
              original_seq: 42,
              dead_lettered_at: '2026-03-15T10:09:22.123Z',
              event: DELIVERED_EVENT_EXAMPLE,
            },
          ],
          next_after_seq: 7,
        },
      },
    },
    errors: [...BUS_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/dead-letters/redrive',
    operationId: 'redriveDeadLetters',
    summary: 'Put dead letters back to their consumer',
    description:
      'Republishes the chosen dead letters (by `seqs`, or all matching a `filter`) to the consumer that failed them, and to no other; ' +
      'each is removed from the dead letters once the republish is acknowledged, and is then delivered again with a delivery count of 1. ' +
      'Answers one result per dead letter: `redriven`, `not_found` (no such dead letter of this tenant) or `failed` (e.g. the consumer was deleted; it stays a dead letter). ' +
      'With `dry_run: true` nothing changes: the answer counts what a redrive would do (`would_redrive`, and `would_redrive` per dead letter instead of `redriven`).',
    tag: 'consumers',
    scope: 'subscribe',
    requestBody: {
      description: 'Which dead letters.',
      schema: RedriveRequest,
      examples: {
        bySeq: { summary: 'Two dead letters by sequence', value: { seqs: [7, 8] } },
        byFilter: {
          summary: 'Every order dead letter of the billing consumer',
          value: { filter: { consumer: 'billing', types: ['order.*'] } },
        },
        dryRun: { summary: 'How many dead letters a redrive of all would put back', value: { filter: {}, dry_run: true } },
      },
    },
    responses: {
      200: {
        description: 'One result per dead letter.',
        schema: RedriveResult,
        example: {
          results: [
            { seq: 7, status: 'redriven', consumer: 'billing', redriven_seq: 97 },
            { seq: 8, status: 'not_found' },
          ],
          redriven: 1,
        },
      },
    },
    errors: [...BUS_ERRORS, 'GW_VALIDATION_FAILED'],
  },
] as const satisfies readonly OperationSpec[];

export const DEAD_LETTER_COMPONENTS = [DeadLetter, DeadLetterPage, RedriveRequest, RedriveItem, RedriveResult];
