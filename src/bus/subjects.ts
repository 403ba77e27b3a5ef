// Subject layout of the event stream. The tenant is a subject token of its own, so every read and
// every publish is confined to `<prefix>.<tenant>.>`; the type's two parts and the correlation id
// follow, so type patterns and correlation lookups are both plain subject filters:
//   <prefix>.<tenant>.<domain>.<action>.<correlation_id>
// Every token was validated against a pattern without `.`, `*`, `>` or whitespace.

export function eventSubject(prefix: string, tenant: string, type: string, correlationId: string): string {
  return `${prefix}.${tenant}.${type}.${correlationId}`;
}

/** Every subject of one tenant. */
export function tenantSubjects(prefix: string, tenant: string): string {
  return `${prefix}.${tenant}.>`;
}

/**
 * The filter subject of a type pattern: `*` (all), `order.*` (a domain) or `order.created`.
 * Returns undefined for anything else, so callers reject it.
 */
export function typePatternSubject(prefix: string, tenant: string, pattern: string): string | undefined {
  if (pattern === '*') return `${prefix}.${tenant}.>`;
  const m = /^([a-z][a-z0-9_]{0,63})\.(\*|[a-z][a-z0-9_]{0,63})$/.exec(pattern);
  if (!m) return undefined;
  return `${prefix}.${tenant}.${m[1]}.${m[2]}.*`;
}

/** Every event of one correlation id within a tenant. */
export function correlationSubject(prefix: string, tenant: string, correlationId: string): string {
  return `${prefix}.${tenant}.*.*.${correlationId}`;
}

/** The tenant, type and correlation id a stored subject encodes. */
export function parseEventSubject(subject: string): { tenant: string; type: string; correlationId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5) return undefined;
  return { tenant: parts[1] as string, type: `${parts[2]}.${parts[3]}`, correlationId: parts[4] as string };
}

/**
 * Dead letters redriven to one durable consumer are republished here: only that consumer has
 * this subject among its filters, so nobody else sees them again.
 */
export function redriveSubject(prefix: string, tenant: string, consumerName: string): string {
  return `${prefix}_redrive.${tenant}.${consumerName}`;
}
