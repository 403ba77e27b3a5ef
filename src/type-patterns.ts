// Type patterns, the one owner of their meaning: `*` (every type), `order.*` (a domain) or
// `order.created` (one type). Their syntax is the contract's (TypePattern in
// schemas/identifiers.ts); parsing, folding overlapping patterns (JetStream refuses overlapping
// filter subjects) and matching a type live here; src/bus/subjects.ts maps a parsed pattern to its
// NATS subject.
import { isTypePattern } from '../schemas/identifiers.ts';

export { isTypePattern };

/** A pattern split into its parts; `action` undefined means the whole domain, `domain` undefined every type. */
export interface ParsedTypePattern {
  domain?: string;
  action?: string;
}

/** The parts of a pattern, or undefined when it is not one of the three forms. */
export function parseTypePattern(pattern: string): ParsedTypePattern | undefined {
  if (!isTypePattern(pattern)) return undefined;
  if (pattern === '*') return {};
  const dot = pattern.indexOf('.');
  const domain = pattern.slice(0, dot);
  const action = pattern.slice(dot + 1);
  return action === '*' ? { domain } : { domain, action };
}

/**
 * The patterns without duplicates and without those a broader one covers, sorted: `['*']` when
 * `*` is among them. Assumes every pattern is valid.
 */
export function foldTypePatterns(patterns: readonly string[]): string[] {
  if (patterns.includes('*')) return ['*'];
  const domains = new Set(patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -2)));
  return [...new Set(patterns)].filter((p) => p.endsWith('.*') || !domains.has(p.slice(0, p.indexOf('.')))).sort();
}

/** A matcher for a list of patterns: true when any matches (an empty list matches every type). */
export function typeMatcher(patterns: readonly string[]): (type: string) => boolean {
  if (patterns.length === 0 || patterns.includes('*')) return () => true;
  const domains = new Set<string>();
  const exact = new Set<string>();
  for (const p of patterns) {
    if (p.endsWith('.*')) domains.add(p.slice(0, -2));
    else exact.add(p);
  }
  return (type) => exact.has(type) || domains.has(type.slice(0, type.indexOf('.')));
}
