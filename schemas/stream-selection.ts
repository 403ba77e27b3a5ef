// What a reader selects from the event stream, shared by WebSocket subscriptions, HTTP consumers and
// dead-letter redrive: type patterns, and where delivery starts.
import { type Static, Type } from '@sinclair/typebox';
import { Sequence, TYPE_PATTERN_PATTERN, TypePattern } from './identifiers.ts';

// Type patterns are identifiers (identifiers.ts); re-exported for the importers of this module.
export { TYPE_PATTERN_PATTERN, TypePattern };

export const StartPosition = Type.Union(
  [
    Type.Literal('new', { description: 'Only events stored from now on (for a consumer: from its creation).' }),
    Type.Literal('all', { description: 'Every event the stream still holds.' }),
    Type.Object(
      { seq: Sequence({ description: 'Stream sequence of the event.', examples: [42] }) },
      { additionalProperties: false, description: 'From this stream sequence on (resume with the last seq seen + 1).' },
    ),
    Type.Object(
      { time: Type.String({ format: 'date-time', description: 'RFC 3339 time.', examples: ['2026-03-15T10:00:00Z'] }) },
      { additionalProperties: false, description: 'From the first event stored at or after this time.' },
    ),
  ],
  {
    title: 'StartPosition',
    description:
      'Where delivery starts. A WebSocket replay continues live with no gap and no duplicate; a named consumer takes it at creation only (an update never moves its position).',
  },
);
export type StartPosition = Static<typeof StartPosition>;
