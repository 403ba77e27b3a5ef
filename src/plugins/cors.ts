// Cross-origin requests from browsers (@fastify/cors), off unless CORS_ORIGINS lists origins (or
// `*`). Preflights are answered before authentication (a browser sends them without the API key);
// every answer to an allowed origin, problem documents included, carries the CORS headers, and
// exposes the headers a browser client needs to read: the request id, Retry-After and the
// RateLimit fields of a 429, Location. Credentials (cookies) are never allowed: the API
// authenticates with a bearer key the page sends itself.
import cors from '@fastify/cors';
import fp from 'fastify-plugin';

/** Response headers a browser script may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'Location',
  'Allow',
  // Idempotency-Key replays, and the next page of a history read as a CloudEvents batch.
  'Idempotent-Replayed',
  'Link',
];

/** How long a browser may cache a preflight answer (seconds). */
const PREFLIGHT_MAX_AGE_S = 600;

export const corsPlugin = fp(
  async function corsOrigins(app) {
    const origins = app.config.CORS_ORIGINS;
    if (!origins) return;
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
      // Request headers: whatever the preflight asks for (Authorization, Content-Type,
      // X-Correlation-Id, traceparent…) is allowed for an allowed origin.
      exposedHeaders: CORS_EXPOSED_HEADERS,
      credentials: false,
      maxAge: PREFLIGHT_MAX_AGE_S,
      // An OPTIONS request that is not a complete preflight is answered 204 like one, rather than
      // with the plugin's text/plain 400 (every client error here is a problem document).
      strictPreflight: false,
      // Answered before any other onRequest hook (authentication is per route).
      hook: 'onRequest',
    });
    app.log.info({ origins }, 'CORS enabled');
  },
  { name: 'cors', fastify: '5.x', dependencies: ['config', 'http'] },
);
