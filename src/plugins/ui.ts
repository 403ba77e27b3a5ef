// The event explorer: the static single-page app in ui/ (plain ES modules, no build step), served
// at /ui/ with a strict Content-Security-Policy. The page holds no secrets of the gateway: it signs
// in with the user's API key (kept in the tab's sessionStorage) and speaks the public REST and
// WebSocket API like any other client (live views through single-use tickets).
// Encapsulated (not fastify-plugin): its headers apply to /ui responses only.
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const UI_ROOT = fileURLToPath(new URL('../../ui/', import.meta.url));

/** A Host header as a CSP source, or nothing when it is not a plain host[:port] (never echo junk into a header). */
function hostSource(host: string | undefined): string | undefined {
  return host !== undefined && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? host : undefined;
}

/**
 * The policy: only the gateway's own scripts, styles and API; no inline script or style, no
 * plugins, no framing, no <base> games. `'self'` covers ws(s) of the same host in CSP 3; the
 * explicit ws:/wss: sources are for browsers that predate that.
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const h = hostSource(host);
  const connect = ["'self'", ...(h ? [`ws://${h}`, `wss://${h}`] : [])].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function uiPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (req, reply) => {
    reply.header('Content-Security-Policy', contentSecurityPolicy(req.headers.host));
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
  });
  // `/ui` → `ui/` (relative, so it also works behind a proxy's path prefix).
  app.get('/ui', { schema: { hide: true } }, async (_req, reply) => reply.redirect('ui/', 302));
  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: '/ui/',
    index: ['index.html'],
    wildcard: false,
    decorateReply: false,
    // Small files that change with the gateway: revalidate each time (ETag), never serve stale code.
    cacheControl: true,
    maxAge: 0,
    schemaHide: true,
  });
}
