// Configuration: every setting is an environment variable, declared once in SETTINGS (name,
// default, parser, documentation). `loadConfig` validates them all and reports every bad value at
// once; the README's configuration table lists the same names (a test keeps them in step).
import { accessSync, constants, statSync } from 'node:fs';
import { isName } from '../schemas/identifiers.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Parser<T> = (raw: string) => T;

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer from ${min} to ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return n;
  };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Durations as `500ms`, `30s`, `2m`, `12h`, `7d` (or a bare number of milliseconds); to ms. */
export const duration =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
    const ms = m ? Number(m[1]) * (UNITS[m[2] ?? 'ms'] as number) : Number.NaN;
    if (!Number.isFinite(ms) || ms < min || ms > max) {
      throw new Error(`must be a duration like 500ms, 30s, 2m, 12h or 7d, from ${min}ms to ${max}ms`);
    }
    return ms;
  };

const str: Parser<string> = (raw) => raw;
const optionalStr: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw);
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    if (!values.includes(raw as T)) throw new Error(`must be one of ${values.join(', ')}`);
    return raw as T;
  };
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  throw new Error('must be true or false');
};
const token: Parser<string> = (raw) => {
  if (!isName(raw)) throw new Error('must be 1-64 letters, digits, _ or -');
  return raw;
};
const natsUrls: Parser<string[] | undefined> = (raw) => {
  if (raw.trim() === '') return undefined;
  const urls = raw.split(',').map((u) => u.trim());
  for (const u of urls) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s,]+$|^[^\s:/,]+:\d+$/.test(u)) throw new Error(`"${u}" is not a NATS URL (nats://host:port)`);
  }
  return urls;
};

const adminKey: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  if (raw.startsWith('sha256:') ? !/^sha256:[0-9a-fA-F]{64}$/.test(raw) : raw.length < 16) {
    throw new Error('must be a key of at least 16 characters, or sha256:<64 hex digits>');
  }
  return raw;
};
/** A path to a file that exists and can be read now (its content is checked where it is used). */
const readableFile: Parser<string | undefined> = (raw) => {
  if (raw.trim() === '') return undefined;
  try {
    if (!statSync(raw).isFile()) throw new Error('is not a file');
    accessSync(raw, constants.R_OK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'the file cannot be read' : (err as Error).message);
  }
  return raw;
};
/** `*`, or a comma-separated list of origins (`https://app.example.com`); empty: CORS off. */
const corsOrigins: Parser<string[] | undefined> = (raw) => {
  if (raw.trim() === '') return undefined;
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const o of origins) {
    if (o !== '*' && !/^https?:\/\/[^\s/,]+$/.test(o)) throw new Error(`"${o}" is not an origin (scheme://host[:port], no path) or *`);
  }
  if (origins.includes('*') && origins.length > 1) throw new Error('give * alone, or a list of origins');
  return origins;
};

interface Setting<T> {
  default: string | undefined;
  parse: Parser<T>;
  doc: string;
}

const setting = <T>(def: string | undefined, parse: Parser<T>, doc: string): Setting<T> => ({ default: def, parse, doc });

/** Every environment variable the gateway reads. */
export const SETTINGS = {
  HOST: setting('127.0.0.1', str, 'Address the HTTP server listens on (`0.0.0.0` in the container).'),
  PORT: setting('8080', int(0, 65535), 'HTTP port (`0` picks a free one).'),
  LOG_LEVEL: setting('info', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level.'),
  NATS_URL: setting(undefined, natsUrls, 'Comma-separated NATS URLs. Unset: start an embedded `nats-server` with JetStream.'),
  NATS_SERVER_BIN: setting(
    undefined,
    optionalStr,
    'Path of the `nats-server` binary for the embedded server (else PATH, else fetched into `.cache/`).',
  ),
  NATS_DATA_DIR: setting(
    './data',
    str,
    "The embedded server's JetStream storage directory, one gateway's at a time: a start on a directory whose server another running gateway started exits `2` and leaves it alone; a server left behind by a killed gateway is stopped.",
  ),
  NATS_TOKEN: setting(undefined, optionalStr, 'Token for authenticating to NATS, when the cluster requires one.'),
  NATS_USER: setting(undefined, optionalStr, 'User for authenticating to NATS (with `NATS_PASSWORD`).'),
  NATS_PASSWORD: setting(undefined, optionalStr, 'Password for `NATS_USER`.'),
  STREAM_NAME: setting('EVENTS', token, 'JetStream stream that stores every event.'),
  STREAM_SUBJECT_PREFIX: setting(
    'events',
    token,
    'First subject token; events are stored at `<prefix>.<tenant>.<domain>.<action>.<correlation_id>`.',
  ),
  STREAM_MAX_AGE: setting('7d', duration(0, 3650 * 86_400_000), 'How long events are kept (`0`: forever).'),
  STREAM_MAX_BYTES: setting(
    '-1',
    int(-1, Number.MAX_SAFE_INTEGER),
    'Stream size limit in bytes (`-1`: unlimited); the oldest events go first.',
  ),
  STREAM_REPLICAS: setting(
    '1',
    int(1, 5),
    'Replicas of the event, dead-letter and WebSocket ticket streams in a NATS cluster, when the gateway creates them (a running stream keeps its own unless `STREAM_UPDATE=true`).',
  ),
  STREAM_DUPLICATE_WINDOW: setting('2m', duration(100, 7 * 86_400_000), 'Window in which a repeated event id (per tenant) is stored once.'),
  STREAM_STORAGE: setting('file', oneOf('file', 'memory'), 'JetStream storage type.'),
  STREAM_UPDATE: setting(
    'false',
    bool,
    "The running streams are the truth: when an existing stream's retention or placement (`STREAM_MAX_AGE`, `STREAM_MAX_BYTES`, `STREAM_REPLICAS`, `STREAM_DUPLICATE_WINDOW`, `DEAD_LETTER_MAX_AGE`) differs from this instance's settings, the gateway logs one warning naming each difference and leaves the stream alone. `true`: apply this instance's settings to the running streams (lowering replicas is then allowed, and logged at warn). Settings the gateway needs to work (subjects, republish, direct gets, the ticket window) are always applied; the storage type cannot be changed.",
  ),
  API_KEYS_FILE: setting(
    undefined,
    optionalStr,
    'JSON file of API keys (`{"keys": [{"tenant_id", "key_sha256", "scopes"}]}`), read again on `SIGHUP` and when it changes (a file that does not load keeps the keys in force; docs/admin.md). Unset, and no `ADMIN_API_KEY`: dev mode with a demo tenant.',
  ),
  DEV_API_KEY: setting(undefined, optionalStr, 'Dev mode only: use this key for the demo tenant instead of a random one.'),
  DEV_TENANT_ID: setting('ten_demo', token, 'Dev mode only: the demo tenant.'),
  EVENT_TYPES_DIR: setting(undefined, optionalStr, 'Directory of JSON files registering more event types (see docs/event-types.md).'),
  HTTP_REQUEST_TIMEOUT: setting(
    '30s',
    duration(100, 3_600_000),
    'Time a client has to send a whole request, headers and body; past it the gateway answers `408` and closes the connection (a body that never arrives cannot hold a socket). WebSocket connections, once upgraded, are not affected.',
  ),
  HTTP_HEADERS_TIMEOUT: setting(
    '10s',
    duration(100, 3_600_000),
    "Time a client has to send a request's line and headers (`408` and closed past it; at most `HTTP_REQUEST_TIMEOUT`). Both are checked every quarter of the shorter one.",
  ),
  HTTP_KEEP_ALIVE_TIMEOUT: setting(
    '72s',
    duration(100, 3_600_000),
    'An idle keep-alive connection is closed after this long; keep it above the idle timeout of a load balancer in front.',
  ),
  BODY_LIMIT_BYTES: setting('1048576', int(1024, 64 * 1048576), 'Largest request body accepted (`413` above).'),
  BODY_MAX_DEPTH: setting(
    '64',
    int(2, 1000),
    'Deepest nesting of objects and arrays accepted in a request body, the body itself being level 1 (`400 GW_BODY_TOO_DEEP` beyond).',
  ),
  BATCH_MAX_EVENTS: setting('500', int(1, 10_000), 'Most events in one `POST /v1/events/batch`.'),
  CONSUMER_ACK_WAIT: setting(
    '30s',
    duration(1000, 12 * 3_600_000),
    'Default ack wait of durable consumers (HTTP pull consumers, WebSocket groups): an event not acked within it is redelivered.',
  ),
  CONSUMER_MAX_DELIVER: setting('5', int(1, 100), 'Default deliveries of one event to a durable consumer before it is dead-lettered.'),
  CONSUMER_IDLE_TIMEOUT: setting(
    '24h',
    duration(60_000, 365 * 86_400_000),
    'A durable consumer nobody fetched from for this long is deleted by JetStream (its dead letters stay).',
  ),
  CONSUMER_MAX_FETCH: setting('256', int(1, 10_000), 'Most events one `POST /v1/consumers/{name}/fetch` may ask for.'),
  ACK_TOKEN_SECRET: setting(
    undefined,
    optionalStr,
    'Secret that signs the ack tokens of HTTP pull consumers. Every instance serving one deployment must share it. Unset: random per process (tokens then ack only on the instance that fetched them). Rotation: several comma-separated `kid:secret` entries (or bare secrets); the first signs, every one verifies (docs/admin.md).',
  ),
  DEAD_LETTER_STREAM: setting(
    'EVENTS_DLQ',
    token,
    'JetStream stream that keeps events a durable consumer failed to process `max_deliver` times.',
  ),
  DEAD_LETTER_MAX_AGE: setting('30d', duration(0, 3650 * 86_400_000), 'How long dead letters are kept (`0`: forever).'),
  NATS_DRAIN_TIMEOUT_MS: setting(
    '2000',
    int(0, 120_000),
    'At shutdown, how long draining the NATS connection (flushing what is in flight) may take before it is closed; with NATS disconnected it is closed at once.',
  ),
  PUBLISH_TIMEOUT_MS: setting('5000', int(100, 120_000), 'How long a publish waits for the JetStream acknowledgement before `503`.'),
  RETRY_AFTER_SECONDS: setting('2', int(1, 3600), '`Retry-After` sent with `503` answers.'),
  SHUTDOWN_DRAIN_MS: setting(
    '5000',
    int(0, 600_000),
    'After `SIGTERM`, how long the gateway keeps serving with `/readyz` answering `503` (so load balancers stop sending) before it stops accepting connections; every answer in this period closes its connection.',
  ),
  SHUTDOWN_TIMEOUT_MS: setting(
    '10000',
    int(0, 600_000),
    'After the drain period, how long `SIGTERM` waits for in-flight requests before cutting their connections.',
  ),
  HISTORY_TIME_BUDGET_MS: setting(
    '2000',
    int(50, 60_000),
    'How long one `GET /v1/events` page may scan before answering with what it found and a `next` cursor.',
  ),
  HISTORY_MAX_SCAN: setting(
    '20000',
    int(1, 10_000_000),
    'Most stored events one `GET /v1/events` page looks at (filters such as `source` drop some).',
  ),
  CORRELATION_MAX_EVENTS: setting(
    '10000',
    int(1, 1_000_000),
    'Most events `GET /v1/correlations/{id}` returns; beyond it the answer says `truncated`.',
  ),
  WS_TICKET_SECRET: setting(
    undefined,
    optionalStr,
    'Secret that signs WebSocket tickets (`POST /v1/ws-tickets`). Every instance behind one load balancer must share it. Unset: random per process (tickets then work only on the instance that issued them). Rotation: several comma-separated `kid:secret` entries (or bare secrets); the first signs, every one verifies (docs/admin.md).',
  ),
  WS_TICKET_TTL: setting(
    '30s',
    duration(1000, 600_000),
    'How long a WebSocket ticket stays valid (it is single-use: a used ticket is remembered for twice this long, in a file-stored stream with `STREAM_REPLICAS` replicas).',
  ),
  WS_MAX_SUBSCRIPTIONS: setting('100', int(1, 10_000), 'Most subscriptions one WebSocket connection may hold.'),
  WS_MAX_FRAME_BYTES: setting('65536', int(256, 16 * 1048576), 'Largest frame a WebSocket client may send (close `4009` above).'),
  WS_MAX_FRAMES_PER_SECOND: setting(
    '200',
    int(1, 100_000),
    'Frames a WebSocket client may send per second (close `4008` above); `ack` and `nak` frames have their own budget, `WS_MAX_ACKS_PER_SECOND`.',
  ),
  WS_MAX_ACKS_PER_SECOND: setting(
    '10000',
    int(1, 1_000_000),
    '`ack` and `nak` frames a WebSocket client may send per second (close `4008` above); they do not count against `WS_MAX_FRAMES_PER_SECOND`, except those refused with an error frame.',
  ),
  WS_SEND_BUFFER_BYTES: setting(
    '1048576',
    int(1024, 256 * 1048576),
    'Bytes the gateway buffers for one slow WebSocket reader; a live auto-ack subscriber beyond it is closed (`4010`), replays and client-ack subscriptions pause.',
  ),
  WS_MAX_IN_FLIGHT: setting('100', int(1, 10_000), 'Unacknowledged events one `ack: "client"` subscription may hold.'),
  WS_CONSUMER_HEARTBEAT: setting(
    '1s',
    duration(500, 30_000),
    'Idle heartbeat the gateway asks of the consumers behind WebSocket replays and `ack: "client"` subscriptions. A replay whose consumer stays silent for 3 heartbeats (its node died) is recreated from the next sequence, with no gap and no duplicate; a plain client-ack subscription whose consumer is lost ends with a `GW_NOT_FOUND` error frame carrying `resume_from`.',
  ),
  WS_PING_INTERVAL: setting(
    '30s',
    duration(100, 600_000),
    'WebSocket ping interval; a connection that misses a pong for a whole interval is dropped.',
  ),
  ADMIN_API_KEY: setting(
    undefined,
    adminKey,
    'A bootstrap key with the `admin` scope only (the admin API, docs/admin.md), as the key itself or as `sha256:<hex digest>` so the environment never holds the key. It acts for no tenant. Setting it (like API_KEYS_FILE) turns dev mode off.',
  ),
  ADMIN_BUCKET: setting(
    'GATEWAY_ADMIN',
    token,
    'NATS KV bucket of the API keys made with the admin API (SHA-256 digests only) and the tenant settings; every instance watches it. Replicated like the streams (`STREAM_REPLICAS`).',
  ),
  NATS_CREDS_FILE: setting(
    undefined,
    readableFile,
    'NATS credentials file (a user JWT and its nkey seed, as `nsc` writes it) for decentralized JWT authentication. Read at start; a missing or malformed file stops the start with a configuration error.',
  ),
  NATS_NKEY_SEED_FILE: setting(
    undefined,
    readableFile,
    'File holding a user nkey seed (`SU…`) for nkey authentication. Read at start, like `NATS_CREDS_FILE` (give one of the two).',
  ),
  NATS_TLS_CA: setting(
    undefined,
    readableFile,
    "PEM file of the CA(s) that signed the NATS servers' certificates. Any `NATS_TLS_*` setting makes the connection require TLS.",
  ),
  NATS_TLS_CERT: setting(
    undefined,
    readableFile,
    'PEM client certificate for NATS servers that verify clients (mutual TLS); with `NATS_TLS_KEY`.',
  ),
  NATS_TLS_KEY: setting(undefined, readableFile, 'PEM private key of `NATS_TLS_CERT`.'),
  CORS_ORIGINS: setting(
    undefined,
    corsOrigins,
    'Browser origins allowed to call the API cross-origin, comma-separated (`https://app.example.com,https://admin.example.com`), or `*` for any. Unset: CORS is off (no CORS headers; browsers refuse cross-origin calls). See docs/operations.md.',
  ),
  QUOTA_PUBLISH_PER_SECOND: setting(
    '0',
    int(0, 10_000_000),
    'Events one tenant may publish per second, across all instances (a batch counts its entries); `0`: unlimited. Over it: `429 GW_RATE_LIMITED`. Per-tenant overrides replace it (docs/operations.md).',
  ),
  QUOTA_PUBLISH_BURST: setting(
    '0',
    int(0, 10_000_000),
    'Events a tenant may publish at once above its steady rate (the token bucket size); `0`: the same as `QUOTA_PUBLISH_PER_SECOND`.',
  ),
  QUOTA_READS_PER_SECOND: setting(
    '0',
    int(0, 10_000_000),
    'History and correlation reads (`GET /v1/events`, `GET /v1/correlations/{id}`) one tenant may make per second, across all instances; `0`: unlimited.',
  ),
  QUOTA_WS_CONNECTIONS: setting(
    '0',
    int(0, 10_000_000),
    'Concurrent WebSocket connections of one tenant, across all instances; `0`: unlimited. An upgrade over it is refused with `429` before upgrading.',
  ),
  QUOTA_SUBSCRIPTIONS: setting(
    '0',
    int(0, 10_000_000),
    'Concurrent WebSocket subscriptions of one tenant, across all its connections and instances (`WS_MAX_SUBSCRIPTIONS` still bounds one connection); `0`: unlimited. Over it the `subscribe` frame gets a `GW_RATE_LIMITED` error frame.',
  ),
  QUOTA_DURABLE_CONSUMERS: setting(
    '0',
    int(0, 1_000_000),
    'Durable consumers (HTTP pull consumers and WebSocket groups) one tenant may have; `0`: unlimited. Creating one more answers `429 GW_RATE_LIMITED`; existing ones keep working.',
  ),
  QUOTA_SYNC_INTERVAL: setting(
    '1s',
    duration(100, 60_000),
    "How often each instance announces itself and its tenants' connection and subscription counts to the others (a NATS KV bucket): how fast limits adapt when instances come and go. An instance silent for 3 intervals no longer counts.",
  ),
  METRICS_PORT: setting(
    '9464',
    int(0, 65535),
    'Port of the Prometheus listener (`GET /metrics`), apart from the API port; `0` turns it off. A port already in use is logged as a warning and the gateway starts without it (several instances on one host).',
  ),
  METRICS_HOST: setting('127.0.0.1', str, 'Address the Prometheus listener binds (`0.0.0.0` to let a scraper on another host in).'),
  METRICS_TENANT_LABEL: setting(
    'tenant',
    oneOf('tenant', 'none'),
    'The `tenant` label of per-tenant metrics: `tenant` gives the first `METRICS_TENANT_LABEL_MAX` tenants seen their own value and the rest `other`; `none` drops the label (one series for all tenants).',
  ),
  METRICS_TENANT_LABEL_MAX: setting(
    '100',
    int(1, 100_000),
    'Most distinct `tenant` label values per metric (`METRICS_TENANT_LABEL=tenant`); later tenants count under `other`, so 10,000 tenants cannot explode the series count.',
  ),
  METRICS_CONSUMER_SAMPLE_INTERVAL: setting(
    '30s',
    duration(1000, 3_600_000),
    "How often the pending and ack-pending counts of the gateway's durable consumers are read from JetStream for `/metrics` (sampled, never per scrape).",
  ),
  METRICS_CONSUMER_SAMPLE_MAX: setting(
    '100',
    int(1, 10_000),
    'Most durable consumers read per sample; each gets its own `gateway_consumer_pending_messages` series.',
  ),
  IDEMPOTENCY_RETENTION: setting(
    '24h',
    duration(60_000, 30 * 86_400_000),
    'How long the answer to a request with an `Idempotency-Key` is kept: a repeat (same key, same request) within it gets the stored answer again (`Idempotent-Replayed: true`). The max age of a NATS KV bucket (`<STREAM_NAME>_idempotency`, `STREAM_REPLICAS` replicas, `STREAM_STORAGE`); see docs/idempotency.md.',
  ),
  IDEMPOTENCY_IN_FLIGHT_TIMEOUT: setting(
    '2m',
    duration(1000, 86_400_000),
    'How long a request with an `Idempotency-Key` may stay in flight: repeats meanwhile answer `409 GW_IDEMPOTENCY_IN_FLIGHT`. Past it (the instance handling it crashed) the key is free again and the next repeat is processed. Keep it above the longest request (`HTTP_REQUEST_TIMEOUT`, which includes receiving the body, plus the handling).',
  ),
  SSE_HEARTBEAT_INTERVAL: setting(
    '15s',
    duration(50, 600_000),
    'How often a Server-Sent Events stream (`GET /v1/events/stream`) gets a `: hb` comment, so proxies keep it open and clients notice a dead one; a stream whose reader left queued bytes unread for a whole interval is closed as a slow consumer.',
  ),
  WEBHOOK_ALLOWED_HOSTS: setting(
    '',
    str,
    'Comma-separated hosts, IP addresses and CIDRs (`hooks.internal`, `10.1.2.3`, `10.0.0.0/8`, `fd00::/8`) webhooks may reach although they are loopback, private, link-local or metadata addresses, which are refused otherwise (checked at `PUT` and again at every connection, so DNS rebinding cannot reach them). A host entry allows that host whatever it resolves to; an address or CIDR allows those addresses for any host.',
  ),
  WEBHOOK_ALLOW_HTTP: setting('false', bool, '`true`: webhook URLs may be plain `http://` (else `https://` only).'),
  WEBHOOK_CONNECT_TIMEOUT: setting(
    '5s',
    duration(100, 120_000),
    'How long a webhook delivery may take to connect (DNS and TCP/TLS) before it counts as failed.',
  ),
  WEBHOOK_TIMEOUT: setting(
    '15s',
    duration(500, 600_000),
    "How long one webhook delivery may take in all (connect, send, the receiver's answer) before it counts as failed and is retried. The webhook's consumer redelivers an event no instance settled within this plus 5 s (a crashed instance's deliveries go to another).",
  ),
  WEBHOOK_MAX_RETRY_AFTER: setting(
    '10m',
    duration(0, 12 * 3_600_000),
    'The longest `Retry-After` of a `429`/`503` answer a webhook delivery honours; a longer one waits this long.',
  ),
  WEBHOOK_RESPONSE_MAX_BYTES: setting(
    '4096',
    int(0, 1048576),
    "Bytes of a receiver's answer read (and discarded) before the connection is dropped.",
  ),
  WEBHOOK_SECRET_ROTATION_WINDOW: setting(
    '24h',
    duration(0, 30 * 86_400_000),
    'After `POST /v1/webhooks/{name}/rotate-secret`, how long deliveries carry a second signature made with the previous secret.',
  ),
  WEBHOOK_MAX_PER_TENANT: setting('100', int(1, 10_000), 'Most webhooks one tenant may have.'),
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> };

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[name] ?? s.default;
    if (raw === undefined) {
      out[name] = undefined;
      continue;
    }
    try {
      out[name] = s.parse(raw);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/** A full config for tests and embedding: defaults, overridden by `overrides`. */
export function configWith(overrides: Partial<Config>): Config {
  return { ...loadConfig({}), ...overrides };
}
