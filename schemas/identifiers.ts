// Identifiers, once: each is a TypeBox schema carrying its pattern and length bounds, and a guard
// derived from that schema. Request schemas, the configuration, the API key file and the code
// that builds NATS subjects all use these, so what the API accepts and what may reach a subject
// cannot drift apart.
//
// Identifiers that become NATS subject tokens (tenant, event id, correlation id, consumer and group
// names) are letters, digits, `_` and `-` only: no `.`, `*`, `>` or whitespace can reach a subject,
// so no input can address another tenant's space.
import { Kind, type Static, type TString, Type } from '@sinclair/typebox';

/** The characters of a subject token built from client input. */
const TOKEN_CHARS = '[A-Za-z0-9_-]';
/** One part of an event type (`order`, `status_changed`): lower snake case. */
const TYPE_PART = '[a-z][a-z0-9_]{0,63}';

/** A subject token of 1-128 characters: event ids, tenant ids, correlation ids. */
export const TOKEN_PATTERN = `^${TOKEN_CHARS}{1,128}$`;
/** A name of 1-64 token characters: consumers, groups, streams, the subject prefix. */
export const NAME_PATTERN = `^${TOKEN_CHARS}{1,64}$`;
/** `domain.action` in lower snake case, e.g. `order.created`, `resource.status_changed`. */
export const EVENT_TYPE_PATTERN = `^${TYPE_PART}\\.${TYPE_PART}$`;
/** `*` (every type), `<domain>.*` or `<domain>.<action>`. */
export const TYPE_PATTERN_PATTERN = `^(\\*|${TYPE_PART}\\.(\\*|${TYPE_PART}))$`;
/** `MAJOR.MINOR`. */
export const VERSION_PATTERN = '^(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})$';

/** A guard checking what a string schema constrains: its pattern and its length bounds. */
export function guardOf(schema: TString): (value: unknown) => value is string {
  const re = schema.pattern === undefined ? undefined : new RegExp(schema.pattern);
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Number.POSITIVE_INFINITY;
  return (value: unknown): value is string =>
    typeof value === 'string' && value.length >= min && value.length <= max && (re === undefined || re.test(value));
}

/**
 * The same identifier with a description (and examples) for one place it appears: the
 * constraints stay those of `schema`, in the same key order.
 */
export function describe(schema: TString, description: string, examples: unknown[] | undefined = schema.examples): TString {
  const { [Kind]: _kind, type: _type, description: _description, examples: _examples, ...constraints } = schema;
  return Type.String({ ...constraints, description, ...(examples === undefined ? {} : { examples }) });
}

/** Any subject token of 1-128 characters. */
export const SubjectToken = Type.String({ pattern: TOKEN_PATTERN, minLength: 1, maxLength: 128 });
export type SubjectToken = Static<typeof SubjectToken>;
export const isSubjectToken = guardOf(SubjectToken);

export const TenantId = Type.String({
  pattern: TOKEN_PATTERN,
  minLength: 1,
  maxLength: 128,
  description: 'Owning tenant.',
  examples: ['ten_xyz789'],
});
export type TenantId = Static<typeof TenantId>;
export const isTenantId = guardOf(TenantId);

export const EventId = Type.String({
  pattern: TOKEN_PATTERN,
  minLength: 1,
  maxLength: 128,
  description: 'Unique event id; the dedupe key within the duplicate window.',
  examples: ['evt_abc123'],
});
export type EventId = Static<typeof EventId>;
export const isEventId = guardOf(EventId);

export const CorrelationId = Type.String({
  pattern: TOKEN_PATTERN,
  minLength: 1,
  maxLength: 128,
  description: 'Shared by every event of one workflow; defaults to the `X-Correlation-Id` header, else the event id.',
  examples: ['req_abc123'],
});
export type CorrelationId = Static<typeof CorrelationId>;
export const isCorrelationId = guardOf(CorrelationId);

/** A short name (1-64 token characters); the configuration's stream names and subject prefix. */
export const Name = Type.String({ pattern: NAME_PATTERN });
export type Name = Static<typeof Name>;
export const isName = guardOf(Name);

/** An HTTP pull consumer's name; a WebSocket `group` of the same name is the same consumer. */
export const ConsumerName = Type.String({ pattern: NAME_PATTERN, examples: ['billing'] });
export type ConsumerName = Static<typeof ConsumerName>;
export const isConsumerName = guardOf(ConsumerName);

export const GroupName = describe(
  ConsumerName,
  "Consumer group: every connection of the tenant with this group name, on any gateway instance, shares one durable position and each event goes to one member. The group's position outlives its members.",
);
export type GroupName = Static<typeof GroupName>;
export const isGroupName = guardOf(GroupName);

export const SubscriptionId = Type.String({
  pattern: TOKEN_PATTERN,
  maxLength: 64,
  description: 'Client-chosen subscription id, unique within the connection; every frame about the subscription carries it.',
  examples: ['orders'],
});
export type SubscriptionId = Static<typeof SubscriptionId>;
export const isSubscriptionId = guardOf(SubscriptionId);

export const EventType = Type.String({
  pattern: EVENT_TYPE_PATTERN,
  maxLength: 129,
  description: '`domain.action` in lower snake case.',
  examples: ['order.created'],
});
export type EventType = Static<typeof EventType>;
export const isEventType = guardOf(EventType);

export const EventVersion = Type.String({
  pattern: VERSION_PATTERN,
  description: 'Schema version of `data`, `MAJOR.MINOR`.',
  examples: ['1.0'],
});
export type EventVersion = Static<typeof EventVersion>;
export const isEventVersion = guardOf(EventVersion);

export const TypePattern = Type.String({
  pattern: TYPE_PATTERN_PATTERN,
  description: 'An event type (`invoice.paid`), a domain wildcard (`order.*`) or `*` for every type.',
  examples: ['order.*'],
});
export type TypePattern = Static<typeof TypePattern>;
export const isTypePattern = guardOf(TypePattern);

/** The largest stream sequence the API accepts: 2^53−1, the largest integer a JSON number carries exactly. */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/**
 * A stream sequence a client sends (`from_seq`, `after_seq`, redrive `seqs`, `from: {"seq"}`,
 * WebSocket acks): an integer from 1 (`minimum` 0 where 0 means "before the first") to 2^53−1,
 * so no out-of-range number reaches NATS.
 */
export function Sequence(options: { minimum?: 0 | 1; description?: string; examples?: unknown[] } = {}) {
  const { minimum = 1, ...rest } = options;
  return Type.Integer({ minimum, maximum: MAX_SEQUENCE, ...rest });
}
