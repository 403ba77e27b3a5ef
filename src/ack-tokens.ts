// Ack tokens of HTTP pull consumers. A fetched event comes with a token any gateway instance can
// act on, with no local state: it carries the message's JetStream reply subject (`$JS.ACK.…`,
// where acks are published), the tenant and consumer it was fetched for, and when it stops being
// valid (delivery + ack wait: after that JetStream redelivers the event and the token would ack
// an event someone else may be holding). It is HMAC-SHA256 signed with ACK_TOKEN_SECRET, which
// every instance of a deployment must share; unset, each process draws a random one (dev mode).
// Several comma-separated `kid:secret` entries rotate it: the first signs, all verify
// (src/signing-secrets.ts).
//   token = base64url(JSON payload) "." base64url(HMAC(secret, "ack1." + base64url(JSON payload)))
import { randomBytes } from 'node:crypto';
import { GatewayError } from './errors.ts';
import { SigningSecrets } from './signing-secrets.ts';

export interface AckTokenClaims {
  tenant: string;
  consumer: string;
  /** The JetStream reply subject of the delivery. */
  reply: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

interface Payload {
  t: string;
  c: string;
  r: string;
  x: number;
}

export class AckTokens {
  readonly #secrets: SigningSecrets;

  constructor(secret: string | undefined) {
    this.#secrets = new SigningSecrets(secret ?? randomBytes(32).toString('base64url'));
  }

  #mac(body: string): Buffer {
    return this.#secrets.sign(`ack1.${body}`);
  }

  sign(claims: AckTokenClaims): string {
    const payload: Payload = { t: claims.tenant, c: claims.consumer, r: claims.reply, x: claims.expiresAt };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  /**
   * The claims of a token presented by `tenant` for its consumer `consumer`. Throws
   * GW_INVALID_ACK_TOKEN (malformed, forged, or another tenant's or consumer's) or
   * GW_ACK_TOKEN_EXPIRED. A foreign token is refused even when its signature is valid.
   */
  verify(token: unknown, tenant: string, consumer: string, now = Date.now()): AckTokenClaims {
    if (typeof token !== 'string' || token.length > 4096) throw invalid('is not an ack token');
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw invalid('is not an ack token');
    if (!this.#secrets.verify(`ack1.${body}`, Buffer.from(mac, 'base64url'))) {
      throw invalid('was not issued by this deployment (bad signature; do all instances share ACK_TOKEN_SECRET?)');
    }
    let p: Payload;
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      throw invalid('is not an ack token');
    }
    if (typeof p.t !== 'string' || typeof p.c !== 'string' || typeof p.r !== 'string' || typeof p.x !== 'number') {
      throw invalid('is not an ack token');
    }
    if (p.t !== tenant || p.c !== consumer) throw invalid(`was issued for another consumer than "${consumer}"`);
    if (now > p.x) {
      throw new GatewayError(
        'GW_ACK_TOKEN_EXPIRED',
        `The ack token expired at ${new Date(p.x).toISOString()}; the event is redelivered (fetch it again)`,
      );
    }
    return { tenant: p.t, consumer: p.c, reply: p.r, expiresAt: p.x };
  }
}

function invalid(what: string): GatewayError {
  return new GatewayError('GW_INVALID_ACK_TOKEN', `The ack token ${what}`);
}
