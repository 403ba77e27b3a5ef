// The gateway's API as the page uses it: the key from sessionStorage as a Bearer header (never in a
// URL, never logged), problem+json answers as ApiError, and WebSocket URLs carrying a single-use
// ticket (POST /v1/ws-tickets), which is what docs/websocket.md prescribes for browsers.

const STORAGE_KEY = 'platforma.gateway.apiKey';

export const session = {
  get key() {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  signIn(key) {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  /** Forgets the key and everything else this tab kept. */
  signOut() {
    sessionStorage.clear();
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem?.detail ?? problem?.title ?? `HTTP ${status}`;
    super(problem?.code ? `${problem.code}: ${detail}` : detail);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** The gateway's root, relative to the page (/ui/ → /), so a proxy's path prefix is kept. */
export function gatewayUrl(path) {
  return new URL(`../${path.replace(/^\//, '')}`, window.location.href);
}

/** Calls the API; answers the parsed JSON body (or null), throws ApiError on a non-2xx answer. */
export async function api(method, path, { query, body } = {}) {
  const url = gatewayUrl(path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
  }
  const headers = { accept: 'application/json, application/problem+json' };
  const key = session.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = { detail: text.slice(0, 200) };
    }
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** A WebSocket to /v1/ws, authorised by a fresh single-use ticket. */
export async function openSocket() {
  const { ticket } = await api('POST', '/v1/ws-tickets');
  const url = gatewayUrl('/v1/ws');
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('ticket', ticket);
  return new WebSocket(url);
}

/** The copy-as-curl text for publishing an event again: the key stays a shell variable. */
export function curlFor(event) {
  const input = { type: event.type, version: event.version, source: event.source, data: event.data };
  if (event.metadata?.correlation_id) input.metadata = { correlation_id: event.metadata.correlation_id };
  const json = JSON.stringify(input).replaceAll("'", "'\\''");
  return [
    `curl -X POST '${gatewayUrl('/v1/events').href}' \\`,
    `  -H "Authorization: Bearer $KEY" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '${json}'`,
  ].join('\n');
}
