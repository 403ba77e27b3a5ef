// The Idempotency-Key request header on every state-changing POST and PUT under /v1 (the rule and
// its exclusions: schemas/idempotency.ts; docs/idempotency.md). Route hooks, added to each such
// route as it is registered, so routes of later features get them too:
//   preParsing    the key is checked (400) and claimed for the tenant before the body is read
//                 (bus: an atomic KV create); a key in flight elsewhere answers 409 at once
//   preValidation the request's fingerprint (SHA-256 of method, URL, media type, ce-* headers and
//                 the parsed body): a key already answered is replayed when it matches, else 422
//   onSend        the owner stores its answer (or frees the key when the answer is one a retry
//                 may change: 408, 429, 5xx, or a body that could not be read)
// Without the header every hook returns at once: no KV round trip on the hot path.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, preParsingHookHandler, onSendHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENT_REPLAYED_HEADER, takesIdempotencyKey } from '../../schemas/idempotency.ts';
import type { IdempotentAnswer } from '../bus/index.ts';
import { GatewayError } from '../errors.ts';

type KeyState =
  | { kind: 'owner'; tenant: string; key: string; revision: number; fingerprint?: string; settled: boolean }
  | { kind: 'answered'; answer: IdempotentAnswer; replayed: boolean };

const states = new WeakMap<FastifyRequest, KeyState>();

const PRINTABLE = /^[\x20-\x7e]+$/;

const malformed = (message: string) =>
  new GatewayError('GW_INVALID_REQUEST', `Invalid Idempotency-Key header: ${message}`, {
    errors: [{ pointer: 'header/Idempotency-Key', message }],
  });

/** The key of an `Idempotency-Key` header (a structured-field string: quotes taken off), or the error it is. */
export function parseIdempotencyKey(header: string | string[]): string | GatewayError {
  if (Array.isArray(header)) return malformed('must be sent once');
  let key = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (key.length === 0) return malformed('must not be empty');
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) return malformed(`must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
  if (!PRINTABLE.test(key)) return malformed('must be printable ASCII');
  return key;
}

/** What identifies a request for its key: method, URL (path and query), media type, CloudEvent headers, body. */
function fingerprintOf(req: FastifyRequest): string {
  const hash = createHash('sha256');
  hash.update(`${req.method} ${req.url}\n${req.headers['content-type'] ?? ''}\n`);
  // A binary-mode CloudEvent carries its attributes in ce-* headers: they are part of the request.
  for (const name of Object.keys(req.headers).sort()) {
    if (name.startsWith('ce-')) hash.update(`${name}: ${String(req.headers[name])}\n`);
  }
  hash.update(JSON.stringify(req.body) ?? '');
  return hash.digest('hex');
}

/** An answer a repeat may change (a timeout, a limit, the gateway or the bus unavailable) is not kept. */
const retryableStatus = (status: number) => status >= 500 || status === 429 || status === 408;

export const idempotencyPlugin = fp(
  async function idempotency(app) {
    const leaseMs = app.config.IDEMPOTENCY_IN_FLIGHT_TIMEOUT;

    const claim: preParsingHookHandler = (req, _reply, payload, done) => {
      const header = req.headers['idempotency-key'];
      if (header === undefined) {
        done(null, payload);
        return;
      }
      const key = parseIdempotencyKey(header);
      if (key instanceof GatewayError) {
        done(key);
        return;
      }
      // Every route under /v1 authenticates in onRequest; one that did not has no tenant to scope keys by.
      if (!req.principal) {
        done(null, payload);
        return;
      }
      const tenant = req.principal.tenantId;
      // (In a promise: a bus that is not ready yet throws GW_NOT_READY at once.)
      Promise.resolve()
        .then(() => app.bus.claimIdempotencyKey(tenant, key, leaseMs))
        .then(
          (claimed) => {
            if (claimed.outcome === 'in_flight') {
              done(new GatewayError('GW_IDEMPOTENCY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed'));
              return;
            }
            if (claimed.outcome === 'claimed') {
              states.set(req, { kind: 'owner', tenant, key, revision: claimed.revision, settled: false });
              req.log.debug({ revision: claimed.revision }, 'idempotency key claimed');
            } else {
              states.set(req, { kind: 'answered', answer: claimed.answer, replayed: false });
            }
            done(null, payload);
          },
          (err: unknown) => done(err as Error),
        );
    };

    const compare = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const state = states.get(req);
      if (!state) {
        done();
        return;
      }
      const fingerprint = fingerprintOf(req);
      if (state.kind === 'owner') {
        state.fingerprint = fingerprint;
        done();
        return;
      }
      const { answer } = state;
      if (answer.fingerprint !== fingerprint) {
        done(
          new GatewayError(
            'GW_IDEMPOTENCY_KEY_MISMATCH',
            'This Idempotency-Key was used for a different request (method, path or body); use a new key for a new request',
          ),
        );
        return;
      }
      state.replayed = true;
      req.log.debug({ status: answer.status }, 'idempotent answer replayed');
      reply.code(answer.status).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      if (answer.contentType) reply.header('content-type', answer.contentType);
      reply.send(answer.body);
    };

    const settle: onSendHookHandler = (req, reply, payload, done) => {
      const state = states.get(req);
      if (state?.kind !== 'owner' || state.settled) {
        done(null, payload);
        return;
      }
      state.settled = true;
      const { tenant, key, revision, fingerprint } = state;
      const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
      const status = reply.statusCode;
      const keep = fingerprint !== undefined && body !== undefined && !retryableStatus(status);
      const contentType = reply.getHeader('content-type');
      const stored = Promise.resolve().then(() =>
        keep
          ? app.bus.completeIdempotencyKey(tenant, key, revision, {
              fingerprint,
              status,
              contentType: typeof contentType === 'string' ? contentType : undefined,
              body,
            })
          : app.bus.releaseIdempotencyKey(tenant, key, revision).then(() => true),
      );
      stored.then(
        (ok) => {
          if (!ok) req.log.warn('the Idempotency-Key claim ran out (IDEMPOTENCY_IN_FLIGHT_TIMEOUT) before the answer; it was not stored');
          done(null, payload);
        },
        (err: unknown) => {
          // The answer stands; the key stays in flight until its lease ends, then the next repeat is processed.
          req.log.warn({ err }, 'could not store the answer of an Idempotency-Key');
          done(null, payload);
        },
      );
    };

    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const operationId = (route.schema as { operationId?: string } | undefined)?.operationId;
      if (!methods.some((m) => takesIdempotencyKey(m, route.url, operationId))) return;
      const list = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
      route.preParsing = [...list(route.preParsing), claim];
      // First, so the body is fingerprinted as the client sent it (before any hook rewrites it).
      route.preValidation = [compare, ...list(route.preValidation)];
      route.onSend = [...list(route.onSend), settle];
    });
  },
  { name: 'idempotency', fastify: '5.x', dependencies: ['config', 'http', 'auth', 'bus'] },
);
