// Signing secrets that can be rotated without downtime: ACK_TOKEN_SECRET and WS_TICKET_SECRET hold
// one secret, or several comma-separated entries, each `kid:secret` or a bare secret. The first
// entry signs; every entry verifies. Rotation: prepend the new secret on every instance
// ("new,old"), wait until no token signed with the old one can still be valid, drop the old one.
// Tokens carry no kid (their format is unchanged), so verifying tries each secret in turn: a
// handful of HMACs, only on the path of a token the first secret did not sign. The kid is a label
// for operators (logs, runbooks). A value that parses as a list is also tried whole, so a single
// secret from before rotation existed that happens to contain `,` or `:` keeps verifying.
import { createHmac, timingSafeEqual } from 'node:crypto';

const KID = /^[A-Za-z0-9_.-]{1,64}$/;

export class SigningSecrets {
  /** Signs (the first entry). */
  readonly #signing: Buffer;
  /** Verifies: every entry, then the whole value when it is not the one secret. */
  readonly #verifying: readonly Buffer[];
  /** The labels of the entries, in order (an entry without a kid gets its position, `#1`…). */
  readonly kids: readonly string[];

  constructor(value: string) {
    const entries = value
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    if (entries.length === 0) throw new Error('a signing secret must not be empty');
    const kids: string[] = [];
    const secrets: Buffer[] = [];
    entries.forEach((entry, i) => {
      const colon = entry.indexOf(':');
      const kid = colon > 0 ? entry.slice(0, colon) : '';
      if (colon > 0 && KID.test(kid) && colon < entry.length - 1) {
        kids.push(kid);
        secrets.push(Buffer.from(entry.slice(colon + 1), 'utf8'));
      } else {
        kids.push(`#${i + 1}`);
        secrets.push(Buffer.from(entry, 'utf8'));
      }
    });
    const whole = Buffer.from(value, 'utf8');
    this.#signing = secrets[0] as Buffer;
    this.#verifying = secrets.some((s) => s.equals(whole)) ? secrets : [...secrets, whole];
    this.kids = kids;
  }

  /** HMAC-SHA256 of `data` with the signing secret. */
  sign(data: string): Buffer {
    return createHmac('sha256', this.#signing).update(data).digest();
  }

  /** True when `mac` is the HMAC-SHA256 of `data` under any of the secrets (constant time per secret). */
  verify(data: string, mac: Buffer): boolean {
    for (const secret of this.#verifying) {
      const expected = createHmac('sha256', secret).update(data).digest();
      if (mac.length === expected.length && timingSafeEqual(mac, expected)) return true;
    }
    return false;
  }
}
