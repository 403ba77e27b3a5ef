// What a reader selects from the event stream, shared by WebSocket subscriptions, HTTP consumers and
// dead-letter redrive: type patterns, and where delivery starts.
import { Type } from '@sinclair/typebox';

/** `*` (every type), `<domain>.*` or `<domain>.<action>`; see typePatternSubject in src/bus/subjects.ts. */
export const TYPE_PATTERN_PATTERN = '^(\\*|[a-z][a-z0-9_]{0,63}\\.(\\*|[a-z][a-z0-9_]{0,63}))$';

export const TypePattern = Type.String({
  pattern: TYPE_PATTERN_PATTERN,
  description: 'An event type (`invoice.paid`), a domain wildcard (`order.*`) or `*` for every type.',
  examples: ['order.*'],
});

export const StartPosition = Type.Union(
  [
    Type.Literal('new', { description: 'Only events stored from now on (for a consumer: from its creation).' }),
    Type.Literal('all', { description: 'Every event the stream still holds.' }),
    Type.Object(
      { seq: Type.Integer({ minimum: 1, description: 'Stream sequence of the event.', examples: [42] }) },
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
