// CloudEvents 1.0 in and out, in one place: a structured-mode CloudEvent or a binary-mode request
// (ce-* headers and a JSON body) becomes an EventInput for the event preparer, and a stored
// envelope becomes a structured CloudEvent or binary-mode headers and body for any sink (WebSocket,
// HTTP reads, webhooks, SSE). docs/cloudevents.md documents the mapping this module implements.
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent as CloudEventSchema, EXTENSION_NAME_PATTERN, type CloudEvent } from '../schemas/cloudevents.ts';
import type { EventEnvelope, EventInput } from '../schemas/envelope.ts';
import { EventInput as EventInputSchema } from '../schemas/envelope.ts';
import { GatewayError } from './errors.ts';
import { traceIdFromTraceparent } from './event-preparer.ts';
import { bodyAjv, fieldErrors } from './validation.ts';

export type { CloudEvent };

/** W3C trace context carried by a CloudEvent (distributed tracing extension). */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export type FromCloudEvent = { ok: true; input: EventInput; trace?: TraceContext } | { ok: false; error: GatewayError };

const validateCloudEvent = bodyAjv.compile<CloudEvent>(JSON.parse(JSON.stringify(CloudEventSchema)));
const validateInput = bodyAjv.compile<EventInput>(JSON.parse(JSON.stringify(EventInputSchema)));
const EXTENSION_NAME = new RegExp(EXTENSION_NAME_PATTERN);

/** Attributes with a place of their own in the envelope (everything else is a metadata entry). */
const MAPPED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'datacontenttype',
  'data',
  'data_base64',
  'tenantid',
  'dataversion',
  'traceparent',
  'tracestate',
]);

/** Extension attribute ↔ metadata key, where the two differ (CloudEvents names have no `_`). */
const EXTENSION_TO_METADATA: Record<string, string> = {
  correlationid: 'correlation_id',
  causationid: 'causation_id',
  traceid: 'trace_id',
};
const METADATA_TO_EXTENSION: Record<string, string> = Object.fromEntries(Object.entries(EXTENSION_TO_METADATA).map(([k, v]) => [v, k]));

/** Envelope field → attribute, to name a failing field by the attribute the client sent. */
const ENVELOPE_TO_ATTRIBUTE: Record<string, string> = { timestamp: 'time', tenant_id: 'tenantid', version: 'dataversion' };

/** True for JSON media types: `application/json`, `text/json` and any `*\/*+json` (parameters ignored). */
export function isJsonMediaType(contentType: string): boolean {
  const essence = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || essence === 'text/json' || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(essence);
}

const invalid = (message: string, errors: GatewayError['errors']) =>
  new GatewayError('GW_VALIDATION_FAILED', message, errors === undefined ? {} : { errors });

/**
 * A structured-mode CloudEvent (or one read from binary mode, see `cloudEventFromBinary`) as a
 * validated EventInput; failing fields are named by their attribute (`/time`, `/correlationid`).
 */
export function fromCloudEvent(raw: unknown): FromCloudEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: invalid('A CloudEvent is a JSON object', [{ pointer: '/', message: 'must be object' }]) };
  }
  const ce = raw as Record<string, unknown>;
  // Binary data and non-JSON data are a media type the gateway does not take, whatever else is wrong.
  if (ce.data_base64 !== undefined) {
    return {
      ok: false,
      error: new GatewayError('GW_UNSUPPORTED_MEDIA_TYPE', 'Binary CloudEvent data (data_base64) is not taken: send JSON data'),
    };
  }
  if (typeof ce.datacontenttype === 'string' && !isJsonMediaType(ce.datacontenttype)) {
    return {
      ok: false,
      error: new GatewayError(
        'GW_UNSUPPORTED_MEDIA_TYPE',
        `datacontenttype "${ce.datacontenttype}" is not taken: the data of an event is JSON`,
      ),
    };
  }
  if (!validateCloudEvent(ce)) {
    return { ok: false, error: invalid('The CloudEvent is invalid', fieldErrors(validateCloudEvent.errors)) };
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(ce)) {
    if (MAPPED.has(name)) continue;
    if (!EXTENSION_NAME.test(name)) {
      return {
        ok: false,
        error: invalid(`"${name}" is not a CloudEvents attribute name`, [
          { pointer: `/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`, message: 'must be 1-20 lower-case letters and digits' },
        ]),
      };
    }
    metadata[EXTENSION_TO_METADATA[name] ?? name] = String(value);
  }
  if (ce.data === undefined) {
    return { ok: false, error: invalid('The CloudEvent has no data', [{ pointer: '/data', message: 'is required', keyword: 'required' }]) };
  }
  let trace: TraceContext | undefined;
  if (ce.traceparent !== undefined) {
    trace = { traceparent: ce.traceparent };
    if (ce.tracestate !== undefined) trace.tracestate = ce.tracestate;
    const traceId = traceIdFromTraceparent(ce.traceparent);
    if (traceId !== undefined) metadata.trace_id ??= traceId;
  }
  const input: Record<string, unknown> = { id: ce.id, type: ce.type, source: ce.source, data: ce.data };
  if (ce.time !== undefined) input.timestamp = ce.time;
  if (ce.tenantid !== undefined) input.tenant_id = ce.tenantid;
  if (ce.dataversion !== undefined) input.version = ce.dataversion;
  if (Object.keys(metadata).length > 0) input.metadata = metadata;
  if (!validateInput(input)) {
    return { ok: false, error: asCloudEventError(invalid('The CloudEvent is invalid', fieldErrors(validateInput.errors))) };
  }
  return trace === undefined ? { ok: true, input } : { ok: true, input, trace };
}

/** The same error with its field pointers naming CloudEvent attributes instead of envelope fields. */
export function asCloudEventError(err: GatewayError): GatewayError {
  if (!err.errors) return err;
  const errors = err.errors.map((e) => ({ ...e, pointer: attributePointer(e.pointer) }));
  return new GatewayError(err.code, err.message, {
    errors,
    cause: err.cause,
    ...(err.retryAfter === undefined ? {} : { retryAfter: err.retryAfter }),
  });
}

function attributePointer(pointer: string): string {
  const m = /^\/([^/]+)(\/[^/]+)?(.*)$/.exec(pointer);
  if (!m) return pointer;
  const [, field, sub, rest] = m as unknown as [string, string, string | undefined, string];
  if (field === 'metadata' && sub !== undefined) {
    const key = sub.slice(1);
    return `/${METADATA_TO_EXTENSION[key] ?? key}${rest}`;
  }
  return `/${ENVELOPE_TO_ATTRIBUTE[field] ?? field}${sub ?? ''}${rest}`;
}

/** Percent-decodes a binary-mode header value (the HTTP binding encodes space, `"`, `%` and non-ASCII). */
function decodeHeader(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** True when a request is a binary-mode CloudEvent (it carries `ce-specversion`). */
export function isBinaryCloudEvent(headers: IncomingHttpHeaders): boolean {
  return headers['ce-specversion'] !== undefined;
}

/**
 * The CloudEvent of a binary-mode request: every `ce-<attribute>` header is an attribute, the
 * Content-Type is `datacontenttype` and the body is `data`. A W3C `traceparent` / `tracestate`
 * request header stands in for the tracing extension when no `ce-traceparent` is sent.
 */
export function cloudEventFromBinary(headers: IncomingHttpHeaders, body: unknown): Record<string, unknown> {
  const ce: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    ce[name.slice(3)] = decodeHeader(Array.isArray(value) ? value.join(',') : value);
  }
  if (ce.traceparent === undefined && typeof headers.traceparent === 'string') {
    ce.traceparent = headers.traceparent;
    if (typeof headers.tracestate === 'string') ce.tracestate = headers.tracestate;
  }
  if (headers['content-type'] !== undefined) ce.datacontenttype = headers['content-type'];
  ce.data = body;
  return ce;
}

// ---- out

/** Attribute names a metadata entry must not take (they have a meaning of their own). */
const RESERVED = new Set([...MAPPED, 'dataschema', 'subject']);

/**
 * A stored envelope as a structured-mode CloudEvent: id, type, source, `time` (timestamp), JSON
 * `data`, and the extensions `tenantid`, `dataversion` (version), `correlationid`, `causationid`,
 * `traceid` and every other metadata entry whose key is a valid attribute name. Posted back to
 * the gateway it is the same event (same id: answered as a duplicate).
 */
export function toCloudEvent(event: EventEnvelope): CloudEvent {
  const ce: CloudEvent = {
    specversion: '1.0',
    id: event.id,
    source: event.source,
    type: event.type,
    time: event.timestamp,
    datacontenttype: 'application/json',
    tenantid: event.tenant_id,
    dataversion: event.version,
  };
  for (const [key, value] of Object.entries(event.metadata)) {
    if (value === undefined) continue;
    const name = METADATA_TO_EXTENSION[key] ?? key;
    if (key === 'subject' || key === 'dataschema' || (EXTENSION_NAME.test(name) && !RESERVED.has(name))) ce[name] = value;
  }
  ce.data = event.data;
  return ce;
}

/** Percent-encodes a binary-mode header value: space, `"`, `%` and anything outside printable ASCII. */
function encodeHeader(value: string): string {
  return /[^\x21\x23-\x24\x26-\x7e]/.test(value) ? value.replace(/[^\x21\x23-\x24\x26-\x7e]+/g, (s) => encodeURIComponent(s)) : value;
}

/**
 * A stored envelope as a binary-mode CloudEvent: one `ce-<attribute>` header per attribute of
 * `toCloudEvent` (values percent-encoded as the HTTP binding asks), `content-type:
 * application/json`, and the data as the body.
 */
export function toBinaryCloudEvent(event: EventEnvelope): { headers: Record<string, string>; body: string } {
  const { data, datacontenttype, ...attributes } = toCloudEvent(event);
  const headers: Record<string, string> = { 'content-type': datacontenttype ?? 'application/json' };
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) headers[`ce-${name}`] = encodeHeader(String(value));
  }
  return { headers, body: JSON.stringify(data) };
}
