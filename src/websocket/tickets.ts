// WebSocket tickets: browsers cannot set `Authorization` on a WebSocket, and an API key must never
// travel in a URL, so a key holder trades it (POST /v1/ws-tickets) for a short-lived ticket that
// `GET /v1/ws?ticket=` accepts once. A ticket is stateless across instances: an HMAC-SHA256 over
// (tenant, scopes, expiry, nonce) with WS_TICKET_SECRET, which every instance must share (several
// comma-separated `kid:secret` entries rotate it: the first signs, all verify). Single
// use is enforced cluster-wide by JetStream's duplicate detection: redeeming publishes the nonce
// (as the message id) to a small file-stored, replicated stream whose duplicate window outlives
// every ticket (WS_TICKET_TTL, which every instance should share), and a second redemption is
// answered `duplicate` (src/bus/ticket-store.ts).
import { randomBytes } from 'node:crypto';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Principal, Scope } from '../auth/api-keys.ts';
import type { KeyRing } from '../auth/key-ring.ts';
import { authorize, bearerKey } from '../auth/authenticate.ts';
import type { Bus } from '../bus/index.ts';
import { GatewayError } from '../errors.ts';
import { SigningSecrets } from '../signing-secrets.ts';

interface TicketClaims {
  /** tenant */
  t: string;
  /** scopes */
  s: Scope[];
  /** expiry, epoch ms */
  e: number;
  /** nonce */
  n: string;
  /** key_id of the admin-API key it was issued for (its revocation closes the connection) */
  k?: string;
}

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
}

export class WsTickets {
  readonly #secrets: SigningSecrets;
  readonly #ttlMs: number;
  readonly #bus: Bus;

  constructor(bus: Bus, secret: string, ttlMs: number) {
    this.#bus = bus;
    this.#secrets = new SigningSecrets(secret);
    this.#ttlMs = ttlMs;
  }

  /** A random secret for a single instance (dev mode, tests). */
  static randomSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  issue(principal: Principal, now = Date.now()): IssuedTicket {
    const claims: TicketClaims = {
      t: principal.tenantId,
      s: [...principal.scopes],
      e: now + this.#ttlMs,
      n: randomBytes(16).toString('base64url'),
    };
    if (principal.keyId !== undefined) claims.k = principal.keyId;
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { ticket: `${body}.${this.#sign(body)}`, expiresAt: new Date(claims.e) };
  }

  /** The principal a ticket stands for; throws GW_INVALID_TICKET when forged, expired or used. */
  async redeem(ticket: string, now = Date.now()): Promise<Principal> {
    const claims = this.#verify(ticket, now);
    if (!(await this.#bus.redeemTicketNonce(claims.t, claims.n)))
      throw new GatewayError('GW_INVALID_TICKET', 'This ticket was already used');
    return { tenantId: claims.t, scopes: new Set(claims.s), keyId: claims.k };
  }

  #sign(body: string): string {
    return this.#secrets.sign(body).toString('base64url');
  }

  #verify(ticket: string, now: number): TicketClaims {
    const invalid = () => new GatewayError('GW_INVALID_TICKET', 'The ticket is not valid');
    const dot = ticket.indexOf('.');
    if (dot <= 0 || ticket.length > 1024) throw invalid();
    const body = ticket.slice(0, dot);
    if (!this.#secrets.verify(body, Buffer.from(ticket.slice(dot + 1), 'base64url'))) throw invalid();
    let claims: TicketClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TicketClaims;
    } catch {
      throw invalid();
    }
    if (typeof claims.e !== 'number' || claims.e <= now) throw new GatewayError('GW_INVALID_TICKET', 'The ticket has expired');
    return claims;
  }
}

/**
 * An onRequest hook for routes that accept a ticket instead of the key (EventSource in browsers,
 * like the WebSocket upgrade): `?ticket=` when there is no `Authorization` header, else the key.
 * Either way the principal needs `scope`.
 */
export function requireScopeOrTicket(keys: KeyRing, tickets: WsTickets, scope: Scope): onRequestHookHandler {
  return async function authenticateWithTicket(req: FastifyRequest) {
    const ticket = (req.query as { ticket?: unknown }).ticket;
    if (req.headers.authorization === undefined && typeof ticket === 'string') {
      req.principal = await principalOfTicket(keys, tickets, ticket, scope);
      return;
    }
    req.principal = authorize(keys, bearerKey(req.headers.authorization), scope);
  };
}

/**
 * The principal a ticket was issued to, if it may still act: the key it was traded for not revoked
 * or expired since, its tenant enabled, and the scope the operation needs.
 */
export async function principalOfTicket(keys: KeyRing, tickets: WsTickets, ticket: string, scope: Scope): Promise<Principal> {
  const principal = await tickets.redeem(ticket);
  if (principal.keyId !== undefined && !keys.keyValid(principal.keyId)) {
    throw new GatewayError('GW_UNAUTHORIZED', 'The API key this ticket was issued for is no longer valid');
  }
  keys.assertEnabled(principal.tenantId);
  if (!principal.scopes.has(scope)) throw new GatewayError('GW_FORBIDDEN_SCOPE', `This operation needs the "${scope}" scope`);
  return principal;
}
