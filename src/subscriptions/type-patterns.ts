// A subscription's type patterns (`invoice.paid`, `order.*`, `*`) compiled once: the JetStream
// filter subjects (always inside the subscriber's own tenant) and an in-process matcher the live
// hub uses. Overlapping patterns are folded, since JetStream refuses overlapping filter subjects.
import { typePatternSubject } from '../bus/subjects.ts';

export interface TypePatterns {
  /** Filter subjects under `<prefix>.<tenant>.`; never another tenant's. */
  subjects: string[];
  matches(type: string): boolean;
}

/** Returns undefined when a pattern is not one of the three accepted forms. */
export function compileTypePatterns(prefix: string, tenant: string, patterns: readonly string[]): TypePatterns | undefined {
  for (const p of patterns) if (typePatternSubject(prefix, tenant, p) === undefined) return undefined;
  if (patterns.includes('*')) {
    return { subjects: [typePatternSubject(prefix, tenant, '*') as string], matches: () => true };
  }
  const domains = new Set(patterns.filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -2)));
  const exact = new Set(patterns.filter((p) => !p.endsWith('.*') && !domains.has(p.split('.')[0] as string)));
  const subjects = [...[...domains].map((d) => `${d}.*`), ...exact].map((p) => typePatternSubject(prefix, tenant, p) as string);
  return {
    subjects,
    matches: (type) => exact.has(type) || domains.has(type.slice(0, type.indexOf('.'))),
  };
}
