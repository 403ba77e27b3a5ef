// The single place errors become responses: every 4xx and 5xx leaves as application/problem+json
// with a stable GW_* code, whether it came from a handler, fastify's body parser or validation.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, toProblem } from './errors.ts';
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
  return reply
    .code(gwErr.statusCode)
    .type('application/problem+json')
    .send(toProblem(gwErr, req.url.split('?')[0], String(req.id)));
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return problemHandler(new GatewayError('GW_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`), req, reply);
}
