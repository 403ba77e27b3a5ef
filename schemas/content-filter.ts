// The content filter language (docs/content-filter.md) as schemas for the OpenAPI and AsyncAPI
// documents. Filters are recursive and size-bounded, so the full validation lives in
// src/content-filter.ts (compileContentFilter, GW_INVALID_FILTER with pointers); these schemas
// describe the shape for readers and generated clients.
import { type Static, Type } from '@sinclair/typebox';

const Scalar = Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean(), Type.Null()], {
  description: 'Matches a field equal to this value (or an array field holding it).',
});

/** One alternative of a leaf array. */
export const ContentFilterCondition = Type.Union(
  [
    Scalar,
    Type.Object({ prefix: Type.String({ maxLength: 256 }) }, { additionalProperties: false, description: 'A string starting with this.' }),
    Type.Object(
      {
        'anything-but': Type.Union([
          Scalar,
          Type.Array(Scalar, { minItems: 1 }),
          Type.Object({ prefix: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
        ]),
      },
      { additionalProperties: false, description: 'A present field equal to none of these values (or not starting with the prefix).' },
    ),
    Type.Object(
      { exists: Type.Boolean() },
      { additionalProperties: false, description: '`true`: the field is present (any value, even null); `false`: absent.' },
    ),
    Type.Object(
      {
        numeric: Type.Array(
          Type.Union([
            Type.Union([Type.Literal('<'), Type.Literal('<='), Type.Literal('='), Type.Literal('>='), Type.Literal('>')]),
            Type.Number(),
          ]),
          {
            minItems: 2,
            maxItems: 4,
            description: '`[op, n]` or `[op, n, op, n]` (a range).',
          },
        ),
      },
      { additionalProperties: false, description: 'A number satisfying every comparison.' },
    ),
  ],
  { title: 'ContentFilterCondition', description: 'One alternative in a content filter leaf array.' },
);
export type ContentFilterCondition = Static<typeof ContentFilterCondition>;

export const ContentFilter = Type.Record(Type.String(), Type.Unknown(), {
  title: 'ContentFilter',
  description:
    'EventBridge-style pattern over the envelope (see docs/content-filter.md). Keys are envelope fields (`source`, `type`, `id`, `version`, `timestamp`, `metadata`, `data`); ' +
    'a nested object descends into a field; a leaf is an array of alternatives (`ContentFilterCondition`), any of which may match (OR); every key must match (AND). ' +
    'An array field matches when any element does. Bounded: 6 levels, 64 keys, 64 conditions, 4096 bytes as JSON. Invalid filters answer `GW_INVALID_FILTER` with a pointer.',
  examples: [
    { source: ['billing-service'], data: { amount: [{ numeric: ['>', 100] }], currency: [{ 'anything-but': ['EUR'] }] } },
    { data: { resources: { status: ['running', { prefix: 'start' }] } }, metadata: { trace_id: [{ exists: true }] } },
  ],
});
export type ContentFilter = Static<typeof ContentFilter>;
