// The webhook sink: each event is one HTTP POST to the webhook's URL, following the Standard
// Webhooks specification (signed with the `standardwebhooks` package), carrying the stored envelope
// or, by the webhook's content mode, a structured- or binary-mode CloudEvent (src/cloudevents.ts);
// run on the webhook's
// durable consumer with ack 'on-write' (src/delivery/open.ts, openWebhook): a 2xx answer acks the
// event; anything else naks it with the delay of the next attempt, and the engine dead-letters it
// once the consumer's max deliver (the webhook's max_attempts) is spent.
//
// - `ready` while fewer than max_in_flight requests are outstanding: each webhook has its own
//   sink, keep-alive agent and limit, so a slow receiver only ever holds its own requests.
// - Outcomes: 2xx delivered; 410 Gone disables the webhook (`onGone`; the event waits for a
//   resume); 429/503 with Retry-After retry after that long (at most WEBHOOK_MAX_RETRY_AFTER);
//   anything else (3xx included: redirects are never followed), a timeout (WEBHOOK_CONNECT_TIMEOUT,
//   WEBHOOK_TIMEOUT) or a connection failure retries after `initial_backoff * 2^(attempt-1)`,
//   capped at `max_backoff`, with jitter (half of it random). The last attempt naks at once so
//   the event is dead-lettered without waiting.
// - The receiver's answer is read up to WEBHOOK_RESPONSE_MAX_BYTES and discarded.
// - Connections go through WebhookAddressPolicy.lookup (src/webhook-addresses.ts): an address the
//   policy refuses is never connected to, whatever the host resolved to when the webhook was PUT.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { urlToHttpOptions } from 'node:url';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { CLOUDEVENTS_JSON } from '../../../schemas/cloudevents.ts';
import type { WebhookContentMode } from '../../../schemas/webhooks.ts';
import { toBinaryCloudEvent, toCloudEvent } from '../../cloudevents.ts';
import type { GatewayError } from '../../errors.ts';
import type { WebhookAddressPolicy } from '../../webhook-addresses.ts';
import type { EventRef, Sink } from '../engine.ts';

/** Where and how one webhook delivers (from its definition; replaced in place by `update`). */
export interface WebhookTarget {
  url: URL;
  /** The signing secret. */
  secret: string;
  /** The secret before the last rotation, signing too until `expiresAt` (epoch ms). */
  previous?: { secret: string; expiresAt: number } | undefined;
  maxInFlight: number;
  /** What each request carries: the stored envelope (the default), or a structured- or binary-mode CloudEvent. */
  contentMode?: WebhookContentMode | undefined;
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
}

/** The instance-wide HTTP settings of webhook deliveries. */
export interface WebhookHttpSettings {
  connectTimeoutMs: number;
  timeoutMs: number;
  maxRetryAfterMs: number;
  responseMaxBytes: number;
  policy: WebhookAddressPolicy;
}

export interface WebhookAttemptRecord {
  at: string;
  event_id: string;
  seq: number;
  attempt: number;
  status: number | null;
  latency_ms: number;
  outcome: 'delivered' | 'retry' | 'disabled';
  error?: string;
}

export interface WebhookSinkHooks {
  /** Every attempt, as it ends. */
  attempt(record: WebhookAttemptRecord): void;
  /** The receiver answered 410 Gone. */
  gone(reason: string): void;
  /** The delivery failed after it started (its consumer is gone) and has stopped. */
  failed(err: GatewayError): void;
}

/** Trace context of a delivered event, when the bus carries one. */
export interface TraceContext {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** After a 410, when the event is offered again (to whichever instance still delivers the webhook). */
const GONE_REDELIVERY_DELAY_MS = 2000;

const signingKeys = new Map<string, KeyObject>();

/** The HMAC key of a secret (`whsec_` + base64), kept while the secret is in use (at most a few per webhook). */
function signingKeyOf(secret: string): KeyObject {
  let key = signingKeys.get(secret);
  if (!key) {
    if (signingKeys.size > 10_000) signingKeys.clear();
    key = createSecretKey(Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64'));
    signingKeys.set(secret, key);
  }
  return key;
}

/**
 * Standard Webhooks' signature, `v1,` + base64 of HMAC-SHA256 over `<id>.<timestamp>.<body>`
 * (what the `standardwebhooks` package's `sign` computes and its `verify` checks; the tests verify
 * every delivery with it). Computed with node:crypto and a key object made once per secret:
 * about 4 µs a signature against 15-20 µs for the package's pure-JavaScript SHA-256, measured
 * for the 354-byte bench envelope (the package was 7.5 % of the gateway's CPU draining a backlog).
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', signingKeyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The body of one delivery and the headers that describe it (`content-type`, binary mode's `ce-*`). */
export interface OutgoingContent {
  body: string;
  headers: Record<string, string>;
}

/**
 * What a delivery in `mode` carries: `envelope`, the stored envelope as it is (no re-encoding);
 * `structured`, the structured-mode CloudEvent as `application/cloudevents+json`; `binary`, the
 * CloudEvent's attributes as `ce-*` headers and its data as the body, with the data's content type.
 */
export function outgoingContent(event: Pick<EventRef, 'json' | 'envelope'>, mode: WebhookContentMode): OutgoingContent {
  if (mode === 'structured') return { body: JSON.stringify(toCloudEvent(event.envelope)), headers: { 'content-type': CLOUDEVENTS_JSON } };
  if (mode === 'binary') return toBinaryCloudEvent(event.envelope);
  return { body: event.json, headers: { 'content-type': 'application/json' } };
}

/**
 * The headers of one delivery: Standard Webhooks' `webhook-id` (the event id, the same on every
 * retry, whatever the content mode), `webhook-timestamp` (now, in Unix seconds),
 * `webhook-signature` (one `v1,<base64>` per secret, space-separated, over the body as sent), the
 * content's headers (`content-type`, default `application/json`; `ce-*` in binary mode), and the
 * event's trace context when it has one.
 */
export function outgoingHeaders(
  event: { id: string; body: string; trace?: TraceContext | undefined; content?: Record<string, string> | undefined },
  secrets: readonly string[],
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const signature = secrets.map((s) => signWebhook(s, event.id, timestamp, event.body)).join(' ');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...event.content,
    'user-agent': 'platforma-event-gateway',
    'webhook-id': event.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  // Trace context (W3C `traceparent`, `tracestate`), passed on as the delivered message carries it:
  // see traceOf.
  if (event.trace?.traceparent) headers.traceparent = event.trace.traceparent;
  if (event.trace?.tracestate) headers.tracestate = event.trace.tracestate;
  return headers;
}

/** The publisher's W3C trace context the event travelled with, if any (see outgoingHeaders). */
function traceOf(event: EventRef): TraceContext | undefined {
  return event.traceparent ? { traceparent: event.traceparent, tracestate: event.tracestate } : undefined;
}

/** `Retry-After` as milliseconds: delta seconds or an HTTP date; undefined when absent or invalid. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before the retry after attempt `attempt`: exponential, capped, half of it random. */
export function backoffMs(attempt: number, retry: WebhookTarget['retry'], random = Math.random): number {
  const base = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.round(base / 2 + random() * (base / 2));
}

interface Endpoint {
  target: WebhookTarget;
  options: http.RequestOptions;
  /** Why the URL's address literal is not allowed, if it is not. */
  refused: string | undefined;
}

interface Answer {
  status: number | null;
  retryAfter?: string | string[] | undefined;
  error?: string;
}

export class WebhookSink implements Sink {
  #target: WebhookTarget;
  readonly #http: WebhookHttpSettings;
  readonly #hooks: WebhookSinkHooks;
  #agent: http.Agent | https.Agent;
  /** The target's request options and its address check, worked out once per target (see #endpointOf). */
  #endpoint: Endpoint;
  #outstanding = 0;
  #closing = false;
  /** The receiver answered 410: nothing more is sent (until the dispatcher restarts the delivery). */
  #gone = false;
  #waiters: ((ready: boolean) => void)[] = [];
  #idle: (() => void)[] = [];

  constructor(target: WebhookTarget, settings: WebhookHttpSettings, hooks: WebhookSinkHooks) {
    this.#target = target;
    this.#http = settings;
    this.#hooks = hooks;
    this.#agent = this.#makeAgent(target);
    this.#endpoint = this.#endpointOf(target);
  }

  #endpointOf(target: WebhookTarget): Endpoint {
    let refused: string | undefined;
    try {
      this.#http.policy.checkLiteral(target.url);
    } catch (err) {
      refused = (err as Error).message;
    }
    return { target, options: urlToHttpOptions(target.url), refused };
  }

  #makeAgent(target: WebhookTarget): http.Agent | https.Agent {
    const options = { keepAlive: true, maxSockets: target.maxInFlight, lookup: this.#http.policy.lookup } as http.AgentOptions;
    return target.url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  /** A changed URL, secret or retry policy applies to the next request. */
  update(target: WebhookTarget): void {
    const old = this.#target;
    this.#target = target;
    this.#endpoint = this.#endpointOf(target);
    if (old.url.origin !== target.url.origin || old.maxInFlight !== target.maxInFlight) {
      const previous = this.#agent;
      this.#agent = this.#makeAgent(target);
      // Sockets busy with a request close once it ends.
      setTimeout(() => previous.destroy(), this.#http.timeoutMs + 1000).unref();
    }
  }

  /** The receiver answered 410: this sink sends nothing more. */
  get gone(): boolean {
    return this.#gone;
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * Room for a quarter of the window at least (one event when the window is 1-4): the engine then
   * pulls events in batches rather than one per finished request, each pull costing a JetStream
   * request of its own.
   */
  get ready(): boolean {
    const max = this.#target.maxInFlight;
    return !this.#closing && !this.#gone && max - this.#outstanding >= Math.max(1, Math.floor(max / 4));
  }

  waitReady(): Promise<boolean> {
    if (this.#closing) return Promise.resolve(false);
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  write(event: EventRef, delivery: number, written?: (err?: Error, retryAfterMs?: number) => void): void {
    const done = written ?? (() => undefined);
    if (this.#closing || this.#gone) {
      done(new Error('the webhook delivery is stopping'), this.#gone ? GONE_REDELIVERY_DELAY_MS : 0);
      return;
    }
    this.#outstanding++;
    const target = this.#target;
    const started = Date.now();
    let id = '';
    let content: OutgoingContent;
    try {
      id = event.envelope.id;
      content = outgoingContent(event, target.contentMode ?? 'envelope');
    } catch {
      // Stored bytes that are no envelope (never published so): sent as they are, to be seen.
      id ||= `seq-${event.seq}`;
      content = { body: event.json, headers: { 'content-type': 'application/json' } };
    }
    void this.#post(target, { id, body: content.body, content: content.headers, trace: traceOf(event) }).then((answer) => {
      const latency = Date.now() - started;
      const record: WebhookAttemptRecord = {
        at: new Date(started).toISOString(),
        event_id: id,
        seq: event.seq,
        attempt: delivery,
        status: answer.status,
        latency_ms: latency,
        outcome: 'retry',
      };
      const status = answer.status;
      if (status !== null && status >= 200 && status < 300) {
        record.outcome = 'delivered';
        done();
      } else if (status === 410) {
        record.outcome = 'disabled';
        record.error = 'HTTP 410 Gone: the webhook is disabled';
        // This instance sends nothing more; the others stop once the disabled state reaches them,
        // well before the event is offered again. It waits, unacknowledged, for a resume.
        this.#gone = true;
        done(new Error('410 Gone'), GONE_REDELIVERY_DELAY_MS);
        this.#hooks.gone(`The receiver answered 410 Gone at ${new Date().toISOString()} (event ${id})`);
      } else {
        record.error = answer.error ?? `HTTP ${status}`;
        let delay = backoffMs(delivery, target.retry);
        if (status === 429 || status === 503) {
          const after = retryAfterMs(answer.retryAfter);
          if (after !== undefined) delay = Math.min(after, this.#http.maxRetryAfterMs);
        }
        // The last attempt: straight to the dead letters (the engine moves it on its next delivery).
        if (delivery >= target.retry.maxAttempts) delay = 0;
        done(new Error(record.error), delay);
      }
      this.#hooks.attempt(record);
      this.#settled();
    });
  }

  #settled(): void {
    this.#outstanding--;
    if (this.ready) for (const w of this.#waiters.splice(0)) w(true);
    if (this.#outstanding === 0) for (const f of this.#idle.splice(0)) f();
  }

  /** One POST; never rejects: the answer's status, or null and why there was none. */
  #post(
    target: WebhookTarget,
    event: { id: string; body: string; content: Record<string, string>; trace?: TraceContext | undefined },
  ): Promise<Answer> {
    const { connectTimeoutMs, timeoutMs, responseMaxBytes } = this.#http;
    return new Promise<Answer>((resolve) => {
      let finished = false;
      const finish = (a: Answer) => {
        if (finished) return;
        finished = true;
        clearTimeout(total);
        clearTimeout(connecting);
        resolve(a);
      };
      let connecting: NodeJS.Timeout | undefined;
      const total = setTimeout(() => {
        req.destroy();
        finish({ status: null, error: `no answer within ${timeoutMs} ms (WEBHOOK_TIMEOUT)` });
      }, timeoutMs);
      const endpoint = this.#endpoint.target === target ? this.#endpoint : this.#endpointOf(target);
      if (endpoint.refused !== undefined) {
        finish({ status: null, error: endpoint.refused });
        return;
      }
      // Written as a string: node:http then sends the head and the body in one write (a Buffer body
      // would be a second chunk, a writev, and a copy of the body first).
      const body = event.body;
      const secrets = target.previous && target.previous.expiresAt > Date.now() ? [target.secret, target.previous.secret] : [target.secret];
      const headers = { ...outgoingHeaders(event, secrets), 'content-length': String(Buffer.byteLength(body)) };
      const lib = target.url.protocol === 'https:' ? https : http;
      const req = lib.request({ ...endpoint.options, method: 'POST', agent: this.#agent, headers }, (res) => {
        const status = res.statusCode ?? null;
        const retryAfter = res.headers['retry-after'];
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Enough: the answer is discarded anyway; the socket is not reused.
          if (read > responseMaxBytes) {
            res.destroy();
            finish({ status, retryAfter });
          }
        });
        res.once('end', () => finish({ status, retryAfter }));
        res.once('error', () => finish({ status, retryAfter }));
        res.once('close', () => finish({ status, retryAfter }));
      });
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return;
        connecting = setTimeout(() => {
          req.destroy();
          finish({ status: null, error: `could not connect within ${connectTimeoutMs} ms (WEBHOOK_CONNECT_TIMEOUT)` });
        }, connectTimeoutMs);
        socket.once(target.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        finish({ status: null, error: err.code ? `${err.code}: ${err.message}` : err.message });
      });
      req.end(body);
    });
  }

  /** Never: a webhook's source is pulled, so it waits for the receiver instead. */
  slow(): void {}

  fail(err: GatewayError): void {
    this.#hooks.failed(err);
  }

  /**
   * Takes no new event (the engine stops pulling: `ready` is false) and resolves once the
   * requests under way settled, or after `waitMs`.
   */
  async close(waitMs: number): Promise<void> {
    this.#closing = true;
    for (const w of this.#waiters.splice(0)) w(false);
    if (this.#outstanding > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        timer.unref();
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#agent.destroy();
  }
}
