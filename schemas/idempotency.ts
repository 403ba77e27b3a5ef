// The IETF Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header): which
// operations take it, its shape, and the `Idempotent-Replayed` answer header. The OpenAPI builder
// adds the shared header parameter, the header and the errors to those operations; the runtime
// (src/plugins/idempotency.ts) applies the same rule to every route. docs/idempotency.md explains it.

/** The request header, as documented (Node lowercases it). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The answer header of a replayed answer. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** Longest key taken (characters of printable ASCII). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/**
 * POST and PUT operations under /v1 that do not take the key. A fetch changes no state a client
 * would repeat by mistake: it leases the events pending now, each with its own ack token and
 * deadline, and a repeated fetch must get the events pending then, not the leases of an earlier
 * answer (unacknowledged events are redelivered anyway).
 */
export const IDEMPOTENCY_EXCLUDED_OPERATIONS: readonly string[] = ['fetchConsumer'];

/** True for the requests the key applies to: every POST and PUT under /v1, except the excluded operations. */
export function takesIdempotencyKey(method: string, path: string, operationId?: string): boolean {
  const m = method.toUpperCase();
  return (m === 'POST' || m === 'PUT') && path.startsWith('/v1/') && !IDEMPOTENCY_EXCLUDED_OPERATIONS.includes(operationId ?? '');
}

/** The shared OpenAPI header parameter (`components.parameters.IdempotencyKey`). */
export const IDEMPOTENCY_KEY_PARAMETER = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  description:
    'Makes the request safe to repeat: the first request with a key is processed and its answer kept for IDEMPOTENCY_RETENTION (default 24 h); ' +
    'a repeat with the same key, method, path and body gets that answer again with `Idempotent-Replayed: true`. The same key with another request: ' +
    '`422 GW_IDEMPOTENCY_KEY_MISMATCH`; while the first is still in flight: `409 GW_IDEMPOTENCY_IN_FLIGHT`. Keys are per tenant, 1-255 printable ASCII ' +
    'characters (a quoted structured-field string such as `"8e03978e-40d5-43e8"` is taken without its quotes). See docs/idempotency.md.',
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH + 2 },
  example: '8e03978e-40d5-43e8-bc93-6894a57f9324',
} as const;

/** The answer header of a replay, on the success answers of operations that take the key. */
export const IDEMPOTENT_REPLAYED_RESPONSE_HEADER = {
  description: '`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.',
  schema: { type: 'string', enum: ['true'] },
};
