// Authentication as an onRequest hook, so a request without a valid key is refused before its
// body is read or validated. The scope an operation needs comes from the OpenAPI document.
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { GatewayError } from '../errors.ts';
import type { Principal, Scope } from './api-keys.ts';
import type { KeyRing } from './key-ring.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The raw key of an `Authorization: Bearer <key>` header, or undefined. */
export function bearerKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/**
 * Resolves the principal or throws GW_UNAUTHORIZED, GW_API_KEY_EXPIRED, GW_TENANT_DISABLED or
 * GW_FORBIDDEN_SCOPE (src/auth/key-ring.ts).
 */
export function authorize(keys: KeyRing, key: string | undefined, scope: Scope | 'any'): Principal {
  if (key === undefined) {
    throw new GatewayError('GW_UNAUTHORIZED', 'Send the API key as "Authorization: Bearer <key>"');
  }
  return keys.authorize(key, scope);
}

/**
 * The caller of a route mounted with a scope (its onRequest hook authenticated it). A route
 * reached without one is a wiring bug, refused rather than served to nobody in particular.
 */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new GatewayError('GW_UNAUTHORIZED', 'This operation needs an API key');
  return req.principal;
}

// A callback hook rather than an async one: no promise and microtask hops on every request.
export function requireScope(keys: KeyRing, scope: Scope | 'any'): onRequestHookHandler {
  return function authenticate(req, _reply, done) {
    try {
      req.principal = authorize(keys, bearerKey(req.headers.authorization), scope);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };
}
