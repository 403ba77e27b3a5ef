// Subject layout of the gateway's streams, the one place subjects are spelled. The tenant is a
// subject token of its own, so every read and every publish is confined to `<prefix>.<tenant>.>`;
// the type's two parts and the correlation id follow, so type patterns and correlation lookups are
// both plain subject filters:
//   <prefix>.<tenant>.<domain>.<action>.<correlation_id>      stored events
//   <prefix>_live.<tenant>.<domain>.<action>.<correlation_id> the stream's republish (live feed)
//   <prefix>_redrive.<tenant>.<consumer>                     dead letters put back to one consumer
//   <prefix>_dlq.<tenant>.<consumer>                         dead letters (their own stream)
// Every token was validated against a pattern without `.`, `*`, `>` or whitespace.
import { foldTypePatterns, parseTypePattern } from '../type-patterns.ts';

export function eventSubject(prefix: string, tenant: string, type: string, correlationId: string): string {
  return `${prefix}.${tenant}.${type}.${correlationId}`;
}

/** Every stored event of every tenant. */
export function streamSubjects(prefix: string): string {
  return `${prefix}.>`;
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
  const p = parseTypePattern(pattern);
  if (!p) return undefined;
  if (p.domain === undefined) return tenantSubjects(prefix, tenant);
  return `${prefix}.${tenant}.${p.domain}.${p.action ?? '*'}.*`;
}

/** The non-overlapping filter subjects of valid type patterns (JetStream refuses overlapping ones). */
export function typePatternSubjects(prefix: string, tenant: string, patterns: readonly string[]): string[] {
  return foldTypePatterns(patterns).map((p) => typePatternSubject(prefix, tenant, p) as string);
}

/** Every event of one correlation id within a tenant. */
export function correlationSubject(prefix: string, tenant: string, correlationId: string): string {
  return `${prefix}.${tenant}.*.*.${correlationId}`;
}

/** The tenant, type and correlation id a stored (or republished) subject encodes. */
export function parseEventSubject(subject: string): { tenant: string; type: string; correlationId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5) return undefined;
  return { tenant: parts[1] as string, type: `${parts[2]}.${parts[3]}`, correlationId: parts[4] as string };
}

/** Where the stream republishes what it stored. */
export function liveSubjects(prefix: string): string {
  return `${prefix}_live.>`;
}

export function liveTenantSubjects(prefix: string, tenant: string): string {
  return `${prefix}_live.${tenant}.>`;
}

/** Every redrive subject (part of the event stream). */
export function redriveSubjects(prefix: string): string {
  return `${prefix}_redrive.>`;
}

/**
 * Dead letters redriven to one durable consumer are republished here: only that consumer has
 * this subject among its filters, so nobody else sees them again.
 */
export function redriveSubject(prefix: string, tenant: string, consumerName: string): string {
  return `${prefix}_redrive.${tenant}.${consumerName}`;
}

/** Every subject of the dead-letter stream. */
export function deadLetterSubjects(prefix: string): string {
  return `${prefix}_dlq.>`;
}

/** One consumer's dead letters (`*`: every consumer of the tenant). */
export function deadLetterSubject(prefix: string, tenant: string, consumerName: string): string {
  return `${prefix}_dlq.${tenant}.${consumerName}`;
}

/** The redeemed WebSocket ticket nonces of one tenant (`*`: the stream's subjects). */
export function ticketSubject(prefix: string, tenant: string): string {
  return `${prefix}_ws_tickets.${tenant}`;
}
