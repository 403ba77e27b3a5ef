// The single place errors become responses: every 4xx and 5xx leaves as application/problem+json
// with a stable GW_* code, whether it came from a handler, fastify's body parser or validation.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, GatewayError, toProblem } from './errors.ts';
import { fieldErrors } from './validation.ts';

/** Maps anything thrown while serving a request to a GatewayError. */
export function asGatewayError(err: FastifyError | GatewayError | Error): GatewayError {
  if (err instanceof GatewayError) return err;
  const fe = err as FastifyError & { validationContext?: string };
  if (fe.validation) {
    const errors = fieldErrors(fe.validation as never);
    if (fe.validationContext === 'body') {
      return new GatewayError('GW_VALIDATION_FAILED', 'The request body is invalid', { errors });
    }
    const where = fe.validationContext ?? 'request';
    return new GatewayError(
      'GW_INVALID_REQUEST',
      `Invalid ${where === 'querystring' ? 'query parameter' : where === 'params' ? 'path parameter' : where}`,
      {
        errors: errors.map((e) => ({ ...e, pointer: e.pointer === '/' ? where : `${where}${e.pointer}` })),
      },
    );
  }
  switch (fe.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new GatewayError('GW_URI_TOO_LONG', 'A path segment is longer than allowed');
    case 'FST_ERR_BAD_URL':
      return new GatewayError('GW_INVALID_REQUEST', 'The path is not valid percent-encoded UTF-8');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('GW_PAYLOAD_TOO_LARGE', fe.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('GW_UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('GW_MALFORMED_JSON', 'The body is empty; send a JSON document');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GatewayError('GW_MALFORMED_JSON', fe.message);
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) return new GatewayError('GW_MALFORMED_JSON', err.message);
  if (fe.statusCode === 404) return new GatewayError('GW_NOT_FOUND', fe.message);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new GatewayError('GW_INVALID_REQUEST', fe.message);
  }
  return new GatewayError('GW_INTERNAL', 'The gateway failed to handle the request', { cause: err });
}

export function problemHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const gwErr = asGatewayError(err);
  if (gwErr.statusCode >= 500) {
    req.log.error({ err: gwErr.code === 'GW_INTERNAL' ? err : gwErr, code: gwErr.code }, gwErr.message);
  } else {
    req.log.info({ code: gwErr.code, detail: gwErr.message }, 'request rejected');
  }
  if (gwErr.retryAfter !== undefined) reply.header('Retry-After', String(gwErr.retryAfter));
  if (gwErr.headers !== undefined) reply.headers(gwErr.headers);
  return reply
    .code(gwErr.statusCode)
    .type('application/problem+json')
    .send(toProblem(gwErr, req.url.split('?')[0], String(req.id)));
}

/**
 * The 404 handler, or a 405 with `Allow` when the path is a route's with other methods.
 * `allowedMethods(path)` lists those methods (empty: no such path).
 */
export function notFoundHandler(allowedMethods: (path: string) => string[]) {
  return (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = req.url.split('?')[0] as string;
    const allow = allowedMethods(path);
    if (allow.length > 0) {
      reply.header('Allow', allow.join(', '));
      return problemHandler(
        new GatewayError('GW_METHOD_NOT_ALLOWED', `${path} does not support ${req.method}; it supports ${allow.join(', ')}`),
        req,
        reply,
      );
    }
    return problemHandler(new GatewayError('GW_NOT_FOUND', `No route ${req.method} ${path}`), req, reply);
  };
}

const CLIENT_ERRORS: Record<string, { code: ErrorCode; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'GW_REQUEST_TIMEOUT', detail: 'The request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { code: 'GW_HEADERS_TOO_LARGE', detail: 'The request line and headers exceed the size Node accepts (16 KiB)' },
};

/**
 * fastify's clientErrorHandler: what Node's HTTP parser refuses before any route runs (a malformed
 * request line or header, an unknown method, headers too large, a request that did not arrive in
 * time) is answered with a problem document too, then the connection is closed. Logged at info
 * without a stack, like every client mistake.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''];
  const gwErr = new GatewayError(
    known?.code ?? 'GW_MALFORMED_REQUEST',
    known?.detail ?? `The request is not valid HTTP (${err.code ?? err.message})`,
  );
  this.log.info({ code: gwErr.code, reason: err.code ?? err.message }, 'request refused by the HTTP parser');
  // Not when an answer to this connection's request has already begun.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(toProblem(gwErr));
    socket.write(
      `HTTP/1.1 ${gwErr.statusCode} ${STATUS_CODES[gwErr.statusCode]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
