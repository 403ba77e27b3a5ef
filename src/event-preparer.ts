// Turns what a client POSTs into the envelope stored on the bus: validates the envelope and the
// per-type `data`, enforces the tenant, and fills the fields the server owns. Single and batch
// publishing both go through `prepare`, so they accept and reject exactly the same events.
import { randomBytes } from 'node:crypto';
import type { EventEnvelope, EventInput } from '../schemas/envelope.ts';
import { EventInput as EventInputSchema } from '../schemas/envelope.ts';
import { isCorrelationId } from '../schemas/identifiers.ts';
import type { Catalogue } from './catalogue.ts';
import { GatewayError } from './errors.ts';
import { bodyAjv, fieldErrors } from './validation.ts';

export interface PublishContext {
  tenantId: string;
  /** `X-Correlation-Id` request header, when valid. */
  correlationId?: string | undefined;
  /** Trace id taken from a W3C `traceparent` header. */
  traceId?: string | undefined;
}

export type Prepared = { ok: true; event: EventEnvelope } | { ok: false; error: GatewayError };

const validateInput = bodyAjv.compile<EventInput>(JSON.parse(JSON.stringify(EventInputSchema)));

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C `traceparent` header, or undefined when absent or malformed. */
export function traceIdFromTraceparent(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m || m[1] === '00000000000000000000000000000000') return undefined;
  return m[1];
}

/** A correlation id header is used only when it is a valid subject token. */
export function correlationIdFromHeader(header: string | string[] | undefined): string | undefined {
  return isCorrelationId(header) ? header : undefined;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `evt_` + a ULID: time-ordered, 128 bits, safe as a subject token. */
export function newEventId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[(rnd[i] as number) % 32];
  return `evt_${time}${random}`;
}

export class EventPreparer {
  readonly catalogue: Catalogue;

  constructor(catalogue: Catalogue) {
    this.catalogue = catalogue;
  }

  /** Validates the envelope, then prepares it (batch entries, which no route schema checked). */
  prepare(raw: unknown, ctx: PublishContext): Prepared {
    if (!validateInput(raw)) {
      return fail(new GatewayError('GW_VALIDATION_FAILED', 'The event envelope is invalid', { errors: fieldErrors(validateInput.errors) }));
    }
    return this.prepareValid(raw, ctx);
  }

  /**
   * Prepares an envelope already validated against EventInput: `POST /v1/events`, whose route
   * schema is EventInput, compiled by the same strict body validator.
   */
  prepareValid(input: EventInput, ctx: PublishContext): Prepared {
    if (input.tenant_id !== undefined && input.tenant_id !== ctx.tenantId) {
      return fail(
        new GatewayError('GW_TENANT_MISMATCH', `tenant_id "${input.tenant_id}" is not the tenant of this API key`, {
          errors: [{ pointer: '/tenant_id', message: "must equal the API key's tenant" }],
        }),
      );
    }
    const entry = this.catalogue.get(input.type);
    if (!entry) {
      return fail(
        new GatewayError('GW_UNKNOWN_EVENT_TYPE', `Unknown event type "${input.type}"; GET /v1/event-types lists the catalogue`, {
          errors: [{ pointer: '/type', message: 'is not a registered event type' }],
        }),
      );
    }
    if (input.version !== undefined && Number(input.version.split('.')[0]) !== entry.major) {
      return fail(
        new GatewayError(
          'GW_UNSUPPORTED_VERSION',
          `${input.type} is at version ${entry.version}; version ${input.version} is not supported`,
          {
            errors: [{ pointer: '/version', message: `must have major version ${entry.major}` }],
          },
        ),
      );
    }
    if (!entry.validate(input.data)) {
      return fail(
        new GatewayError('GW_VALIDATION_FAILED', `data does not match the schema of ${input.type}`, {
          errors: fieldErrors(entry.validate.errors, '/data'),
        }),
      );
    }

    const id = input.id ?? newEventId();
    const metadata: EventEnvelope['metadata'] = {
      ...input.metadata,
      correlation_id: input.metadata?.correlation_id ?? ctx.correlationId ?? id,
    };
    const traceId = input.metadata?.trace_id ?? ctx.traceId;
    if (traceId !== undefined) metadata.trace_id = traceId;
    return {
      ok: true,
      event: {
        id,
        type: input.type,
        version: input.version ?? entry.version,
        tenant_id: ctx.tenantId,
        timestamp: input.timestamp ?? new Date().toISOString(),
        source: input.source,
        data: input.data,
        metadata,
      },
    };
  }
}

function fail(error: GatewayError): Prepared {
  return { ok: false, error };
}
