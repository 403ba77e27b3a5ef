// The error catalogue, once: every code a client can see, with its HTTP status, title, problem type
// URI and whether retrying the same request unchanged may succeed; and the TypeBox schemas of the
// problem document (RFC 9457) that carries it. GatewayError (src/errors.ts), docs/errors.md
// (scripts/generate-docs.ts) and the OpenAPI error responses (schemas/openapi-builder.ts) are all
// derived from ERROR_CODES. Clients branch on the code: never rename one, nor change its status.
import { type Static, Type } from '@sinclair/typebox';

interface ErrorRow {
  status: number;
  title: string;
  /**
   * True when the same request may succeed later unchanged: the bus or the gateway is unavailable
   * (503, sent with `Retry-After`) or a limit is reached for now (429). A client mistake (other 4xx)
   * needs a different request, and a 500 is a gateway bug a retry does not fix.
   */
  retryable: boolean;
}

const TABLE = {
  GW_UNAUTHORIZED: { status: 401, title: 'Missing or unknown API key', retryable: false },
  GW_FORBIDDEN_SCOPE: { status: 403, title: 'The API key lacks the scope this operation needs', retryable: false },
  GW_TENANT_MISMATCH: { status: 403, title: "The event's tenant_id is not the API key's tenant", retryable: false },
  GW_MALFORMED_REQUEST: {
    status: 400,
    title: 'The request is not valid HTTP: a malformed request line or header, or an unknown method',
    retryable: false,
  },
  GW_MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON', retryable: false },
  GW_INVALID_REQUEST: {
    status: 400,
    title: 'A query or path parameter is invalid, or the request is not the kind the endpoint takes',
    retryable: false,
  },
  GW_VALIDATION_FAILED: { status: 422, title: 'The request body does not match its schema', retryable: false },
  GW_UNKNOWN_EVENT_TYPE: { status: 422, title: 'The event type is not in the catalogue', retryable: false },
  GW_UNSUPPORTED_VERSION: { status: 422, title: "The event's major version is not supported", retryable: false },
  GW_BATCH_TOO_LARGE: { status: 422, title: 'The batch holds more events than allowed', retryable: false },
  GW_BODY_TOO_DEEP: { status: 400, title: 'The request body nests objects and arrays deeper than allowed', retryable: false },
  GW_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is larger than allowed', retryable: false },
  GW_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json', retryable: false },
  GW_NOT_FOUND: { status: 404, title: 'No such resource', retryable: false },
  GW_METHOD_NOT_ALLOWED: { status: 405, title: 'The resource does not support this method (see the Allow header)', retryable: false },
  GW_URI_TOO_LONG: { status: 414, title: 'A path segment is longer than allowed', retryable: false },
  GW_HEADERS_TOO_LARGE: { status: 431, title: 'The request line and headers are larger than allowed', retryable: false },
  GW_CONFLICT: { status: 409, title: 'The request conflicts with the current state', retryable: false },
  GW_INVALID_FILTER: { status: 422, title: 'The content filter is invalid', retryable: false },
  GW_INVALID_ACK_TOKEN: { status: 422, title: 'The ack token is malformed, forged, or for another tenant or consumer', retryable: false },
  GW_ACK_TOKEN_EXPIRED: {
    status: 410,
    title: 'The ack token expired: its ack wait passed and the event will be redelivered',
    retryable: false,
  },
  GW_NATS_UNAVAILABLE: { status: 503, title: 'The event bus is unavailable', retryable: true },
  GW_PUBLISH_TIMEOUT: { status: 503, title: 'The event bus did not acknowledge the event in time', retryable: true },
  GW_REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time; the connection is closed', retryable: false },
  GW_NOT_READY: { status: 503, title: 'The gateway is not ready', retryable: true },
  GW_SHUTTING_DOWN: { status: 503, title: 'The gateway is shutting down; retry on another instance', retryable: true },
  GW_INVALID_TICKET: { status: 401, title: 'The WebSocket ticket is invalid, expired or already used', retryable: false },
  GW_INVALID_FRAME: { status: 400, title: 'The WebSocket frame is not a valid message', retryable: false },
  GW_DUPLICATE_SUBSCRIPTION: { status: 409, title: 'The connection already has a subscription with this id', retryable: false },
  GW_UNKNOWN_SUBSCRIPTION: { status: 404, title: 'The connection has no subscription with this id', retryable: false },
  GW_TOO_MANY_SUBSCRIPTIONS: { status: 429, title: 'The connection holds the most subscriptions allowed', retryable: true },
  GW_NOT_IN_FLIGHT: { status: 409, title: 'No unacknowledged event with this seq on the subscription', retryable: false },
  GW_INTERNAL: { status: 500, title: 'Internal error', retryable: false },
  GW_API_KEY_EXPIRED: { status: 401, title: 'The API key has expired', retryable: false },
  GW_TENANT_DISABLED: { status: 403, title: "The API key's tenant is disabled", retryable: false },
  GW_RATE_LIMITED: {
    status: 429,
    title: "The tenant's quota is used up for now (see Retry-After and the RateLimit headers)",
    retryable: true,
  },
  GW_IDEMPOTENCY_KEY_MISMATCH: {
    status: 422,
    title: 'The Idempotency-Key was used for a different request (method, path or body) within its retention',
    retryable: false,
  },
  GW_IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    title: 'A request with this Idempotency-Key is still being processed; repeat it once that one is answered',
    retryable: false,
  },
  GW_WEBHOOK_URL_REFUSED: {
    status: 422,
    title: 'The webhook URL is refused: not https, or its host resolves to a loopback, private, link-local or metadata address',
    retryable: false,
  },
} as const satisfies Record<string, ErrorRow>;

/** Every code the gateway answers with. */
export type ErrorCode = keyof typeof TABLE;

/** The problem type URI of a code: `GW_NOT_FOUND` → `urn:platforma:gateway:problem:not-found`. */
export function problemType(code: ErrorCode): string {
  return `urn:platforma:gateway:problem:${code.toLowerCase().replace(/^gw_/, '').replaceAll('_', '-')}`;
}

/** One code's entry: its row of the table plus its problem type URI. */
export type ErrorSpec<C extends ErrorCode = ErrorCode> = (typeof TABLE)[C] & { type: string };

/** The catalogue: code → status, title, type URI, retryable. Clients branch on the key; the title is for humans. */
export const ERROR_CODES = Object.fromEntries(
  Object.entries(TABLE).map(([code, row]) => [code, { ...row, type: problemType(code as ErrorCode) }]),
) as { readonly [C in ErrorCode]: ErrorSpec<C> };

export const ERROR_CODE_LIST = Object.keys(TABLE) as ErrorCode[];

// --- the problem document ---

export const FieldError = Type.Object(
  {
    pointer: Type.String({
      description: 'JSON pointer (RFC 6901) into the request body, or the parameter name.',
      examples: ['/data/order_id'],
    }),
    message: Type.String({ examples: ['is required'] }),
    keyword: Type.Optional(Type.String({ description: 'The JSON Schema keyword that failed.', examples: ['required'] })),
  },
  { title: 'FieldError' },
);
/** One failing field: where (a JSON pointer, or the parameter's name), why, and the failing keyword. */
export type FieldError = Static<typeof FieldError>;

export const ErrorCode = Type.Unsafe<ErrorCode>({
  type: 'string',
  enum: ERROR_CODE_LIST,
  title: 'ErrorCode',
  description: 'Stable machine-readable code; branch on this.',
});

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the problem type.', examples: ['urn:platforma:gateway:problem:validation-failed'] }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: ErrorCode,
    instance: Type.Optional(Type.String({ description: 'The request path.' })),
    request_id: Type.Optional(Type.String({ description: 'Also in the `X-Request-Id` response header and the logs.' })),
    errors: Type.Optional(Type.Array(FieldError, { description: 'Each failing field, for validation problems.' })),
  },
  { title: 'Problem', description: 'RFC 9457 problem details, served as `application/problem+json`.' },
);
export type Problem = Static<typeof Problem>;
