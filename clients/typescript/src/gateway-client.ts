// The REST client: openapi-fetch over the generated types, one typed method per operation of the
// document (generated/operations.ts), with publishing shaped for callers (an event, an array). Every non-2xx answer is thrown as a GatewayProblemError carrying the
// RFC 9457 body's stable `code`, so callers branch on codes, never on message text.
import createClient, { type Client } from 'openapi-fetch';
import type {
  BatchResult,
  ErrorCode,
  EventInput,
  EventTypeList,
  FieldError,
  Health,
  paths,
  Problem,
  PublishResult,
  Readiness,
} from './generated/openapi.ts';
import { bindOperations, type Operations } from './generated/operations.ts';

export interface GatewayClientOptions {
  /** e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** A tenant API key, sent as `Authorization: Bearer <key>`. Health probes need none. */
  apiKey?: string;
  /** A fetch implementation (defaults to the global one: browsers, Node 18+, Deno, Bun). */
  fetch?: typeof globalThis.fetch;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
}

export interface PublishOptions {
  /** Used for events without `metadata.correlation_id` (`X-Correlation-Id`). */
  correlationId?: string;
  /** W3C trace context; its trace id fills `metadata.trace_id` when the event has none. */
  traceparent?: string;
  signal?: AbortSignal;
}

/** A non-2xx answer. `code` is the gateway's stable code; undefined when the body was not problem+json (e.g. a proxy's page). */
export class GatewayProblemError extends Error {
  readonly status: number;
  readonly code: ErrorCode | undefined;
  /** Each failing field (`pointer` is a JSON pointer into the request body), for validation problems. */
  readonly errors: FieldError[];
  /** Seconds the server asked to wait (`Retry-After`), for 503s. */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;
  /** The problem body as received, when there was one. */
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, headers?: Headers) {
    super(problem ? `${problem.code}: ${problem.detail}` : `HTTP ${status} without a problem+json body`);
    this.name = 'GatewayProblemError';
    this.status = status;
    this.problem = problem;
    this.code = problem?.code;
    this.errors = problem?.errors ?? [];
    const retryAfter = Number(headers?.get('retry-after'));
    this.retryAfter = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
    this.requestId = problem?.request_id ?? headers?.get('x-request-id') ?? undefined;
  }

  /** Builds the error from an openapi-fetch result's `error` and `response`. */
  static from(error: unknown, response: Response): GatewayProblemError {
    return new GatewayProblemError(response.status, isProblem(error) ? error : undefined, response.headers);
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Problem).code === 'string' &&
    typeof (body as Problem).status === 'number' &&
    typeof (body as Problem).title === 'string'
  );
}

/** openapi-fetch's `{data, error, response}`: the data, or a GatewayProblemError. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw GatewayProblemError.from(result.error, result.response);
}

function publishHeaders(opts: PublishOptions): { 'X-Correlation-Id'?: string; traceparent?: string } {
  const headers: { 'X-Correlation-Id'?: string; traceparent?: string } = {};
  if (opts.correlationId !== undefined) headers['X-Correlation-Id'] = opts.correlationId;
  if (opts.traceparent !== undefined) headers.traceparent = opts.traceparent;
  return headers;
}

/**
 * Every operation of the document by its operationId (`listEvents`, `getCorrelation`, `putConsumer`,
 * `fetchConsumer`, `ackConsumer`, `listDeadLetters`, `redriveDeadLetters`, ...): path parameters, then
 * the body, then `{query, headers, signal}`.
 */
export interface GatewayClient
  extends Omit<Operations, 'publishEvent' | 'publishEventBatch' | 'listEventTypes' | 'getHealth' | 'getReadiness'> {
  /** The plain openapi-fetch client, typed for every operation in the document. */
  readonly api: Client<paths>;
  /** `POST /v1/events`: resolves once JetStream stored the event (or had it already: `duplicate: true`). */
  publishEvent(event: EventInput, opts?: PublishOptions): Promise<PublishResult>;
  /** `POST /v1/events/batch`: one result per event, in order; per-event failures are in the result, not thrown. */
  publishEventBatch(events: EventInput[], opts?: PublishOptions): Promise<BatchResult>;
  /** `GET /v1/event-types`. */
  listEventTypes(opts?: { signal?: AbortSignal }): Promise<EventTypeList>;
  getHealth(): Promise<Health>;
  getReadiness(): Promise<Readiness>;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey !== undefined) headers.Authorization = `Bearer ${options.apiKey}`;
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  return {
    ...bindOperations(api, unwrap),
    api,
    publishEvent: async (event, opts = {}) =>
      unwrap(await api.POST('/v1/events', { body: event, params: { header: publishHeaders(opts) }, signal: opts.signal })),
    publishEventBatch: async (events, opts = {}) =>
      unwrap(await api.POST('/v1/events/batch', { body: { events }, params: { header: publishHeaders(opts) }, signal: opts.signal })),
    listEventTypes: async (opts = {}) => unwrap(await api.GET('/v1/event-types', { signal: opts.signal })),
    getHealth: async () => unwrap(await api.GET('/healthz')),
    // Not ready is a 503 GW_NOT_READY problem, thrown like any other.
    getReadiness: async () => unwrap(await api.GET('/readyz')),
  };
}
