// Errors a client can see: a GatewayError carries a code of the catalogue (schemas/errors.ts, which
// gives its status, title and problem type) and leaves the process as one RFC 9457
// problem+json body (see problem-handler.ts).
import { ERROR_CODES, type ErrorCode, type FieldError, type Problem } from '../schemas/errors.ts';

export { ERROR_CODES, type ErrorCode, type ErrorSpec, type FieldError, type Problem, problemType } from '../schemas/errors.ts';

export interface GatewayErrorOptions {
  errors?: FieldError[];
  /** Seconds a client should wait before retrying; sent as `Retry-After`. */
  retryAfter?: number;
  cause?: unknown;
  /** Where a failed WebSocket subscription can be subscribed again without a gap (`from: {"seq": …}`). */
  resumeFrom?: number;
  /** More response header fields (the RateLimit fields of a 429). */
  headers?: Record<string, string>;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly resumeFrom: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, options: GatewayErrorOptions = {}) {
    super(detail ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
    this.resumeFrom = options.resumeFrom;
    this.headers = options.headers;
  }

  /** Whether the same request may succeed later unchanged (the catalogue's `retryable`). */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

export function toProblem(err: GatewayError, instance?: string, requestId?: string): Problem {
  const spec = ERROR_CODES[err.code];
  const problem: Problem = {
    type: spec.type,
    title: spec.title,
    status: err.statusCode,
    detail: err.message,
    code: err.code,
  };
  if (instance !== undefined) problem.instance = instance;
  if (requestId !== undefined) problem.request_id = requestId;
  if (err.errors !== undefined) problem.errors = err.errors;
  return problem;
}
