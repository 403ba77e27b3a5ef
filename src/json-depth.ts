// How deeply a JSON text nests, found without parsing it: one pass over the characters, counting
// `[` and `{` outside strings. JSON.parse itself is iterative, but much of what follows it (schema
// validation, content filters, serialisation) recurses, so a document nested thousands of levels
// deep must be refused before it is parsed (BODY_MAX_DEPTH). Cheap: no allocation, a few
// comparisons per character (bench: see the comment on jsonDepthExceeds).

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACKET = 0x5b; // [
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACKET = 0x5d; // ]
const CLOSE_BRACE = 0x7d; // }

/**
 * True when `text` (JSON, or anything: malformed text is left to the parser) nests objects and
 * arrays more than `max` levels deep. The top-level object counts as level 1. A quick ~1 GB/s scan:
 * on the 1 KB single-publish body it costs well under a microsecond.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string with the native search: to the next quote not escaped by an odd run of backslashes.
      for (;;) {
        const end = text.indexOf('"', i + 1);
        if (end < 0) return false; // unterminated: the parser will say so
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
        i = end;
        if ((backslashes & 1) === 0) break;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
