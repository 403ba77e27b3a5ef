// The gateway's error catalogue: every error a client can see is built here, once, with a stable
// `GW_*` code, and leaves the process as one RFC 9457 problem+json body (see problem-handler.ts).

export interface FieldError {
  /** JSON pointer (RFC 6901) into the request body, or the query parameter's name. */
  pointer: string;
  message: string;
  /** The JSON Schema keyword that failed (`required`, `pattern`, ...), when there is one. */
  keyword?: string;
}

export interface ErrorSpec {
  status: number;
  title: string;
}

/** Every code the gateway answers with. Clients branch on the key; the title is for humans. */
export const ERROR_CODES = {
  GW_UNAUTHORIZED: { status: 401, title: 'Missing or unknown API key' },
  GW_FORBIDDEN_SCOPE: { status: 403, title: 'The API key lacks the scope this operation needs' },
  GW_TENANT_MISMATCH: { status: 403, title: "The event's tenant_id is not the API key's tenant" },
  GW_MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  GW_INVALID_REQUEST: { status: 400, title: 'A query or path parameter is invalid' },
  GW_VALIDATION_FAILED: { status: 422, title: 'The event does not match its schema' },
  GW_UNKNOWN_EVENT_TYPE: { status: 422, title: 'The event type is not in the catalogue' },
  GW_UNSUPPORTED_VERSION: { status: 422, title: "The event's major version is not supported" },
  GW_BATCH_TOO_LARGE: { status: 422, title: 'The batch holds more events than allowed' },
  GW_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is larger than allowed' },
  GW_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  GW_NOT_FOUND: { status: 404, title: 'No such resource' },
  GW_CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  GW_INVALID_FILTER: { status: 422, title: 'The content filter is invalid' },
  GW_INVALID_ACK_TOKEN: { status: 422, title: 'The ack token is malformed, forged, or for another tenant or consumer' },
  GW_ACK_TOKEN_EXPIRED: { status: 410, title: 'The ack token expired: its ack wait passed and the event will be redelivered' },
  GW_NATS_UNAVAILABLE: { status: 503, title: 'The event bus is unavailable' },
  GW_PUBLISH_TIMEOUT: { status: 503, title: 'The event bus did not acknowledge the event in time' },
  GW_NOT_READY: { status: 503, title: 'The gateway is not ready' },
  GW_SHUTTING_DOWN: { status: 503, title: 'The gateway is shutting down; retry on another instance' },
  GW_INVALID_TICKET: { status: 401, title: 'The WebSocket ticket is invalid, expired or already used' },
  GW_INVALID_FRAME: { status: 400, title: 'The WebSocket frame is not a valid message' },
  GW_DUPLICATE_SUBSCRIPTION: { status: 409, title: 'The connection already has a subscription with this id' },
  GW_UNKNOWN_SUBSCRIPTION: { status: 404, title: 'The connection has no subscription with this id' },
  GW_TOO_MANY_SUBSCRIPTIONS: { status: 429, title: 'The connection holds the most subscriptions allowed' },
  GW_NOT_IN_FLIGHT: { status: 409, title: 'No unacknowledged event with this seq on the subscription' },
  GW_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface GatewayErrorOptions {
  errors?: FieldError[];
  /** Seconds a client should wait before retrying; sent as `Retry-After`. */
  retryAfter?: number;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, detail?: string, options: GatewayErrorOptions = {}) {
    super(detail ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

export function problemType(code: ErrorCode): string {
  return `urn:platforma:gateway:problem:${code.toLowerCase().replace(/^gw_/, '').replaceAll('_', '-')}`;
}

export function toProblem(err: GatewayError, instance?: string, requestId?: string): Problem {
  const problem: Problem = {
    type: problemType(err.code),
    title: ERROR_CODES[err.code].title,
    status: err.statusCode,
    detail: err.message,
    code: err.code,
  };
  if (instance !== undefined) problem.instance = instance;
  if (requestId !== undefined) problem.request_id = requestId;
  if (err.errors !== undefined) problem.errors = err.errors;
  return problem;
}
