// Tracing by the OpenTelemetry messaging conventions, through @opentelemetry/api only: a producer
// `send` span per publish, a consumer `process` span per delivery and a `settle` span per ack or
// nak. The SDK (src/tracing-sdk.ts) is started by src/main.ts only when OTEL_* variables configure
// an exporter and hands this module the API; until then `tracingActive()` is false, nothing here
// is called on a hot path and no OpenTelemetry module is even loaded.
//
// The W3C trace context of a publisher (`traceparent`, `tracestate`) travels with its event as
// NATS message headers whether tracing is on or off; with tracing on, what travels is the `send`
// span's context, so every `process` span is that span's child.
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';

/** A W3C trace context, as it travels in HTTP and NATS headers. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** W3C tracestate: at most 32 list members, printable ASCII; bounded so it fits a NATS header. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/**
 * A valid W3C trace context from header values (HTTP `traceparent` / `tracestate`, a CloudEvents
 * extension), or undefined: a malformed `traceparent` is ignored (W3C), a malformed `tracestate`
 * dropped. Only version 00 is understood; later versions keep their first four fields.
 */
export function traceContextFrom(traceparent: unknown, tracestate?: unknown): TraceContext | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 256) return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  const tc: TraceContext = { traceparent: `00-${traceId}-${spanId}-${flags}` };
  if (typeof tracestate === 'string' && TRACESTATE.test(tracestate.trim())) tc.tracestate = tracestate.trim();
  return tc;
}

/**
 * True when the environment configures a trace exporter: OTEL_TRACES_EXPORTER (other than `none`),
 * else OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true wins.
 */
export function tracingConfigured(env: Record<string, string | undefined> = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (exporters.length > 0) return !exporters.every((e) => e === 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

let active = false;
/** The OpenTelemetry API and the gateway's tracer, set while tracing is on. */
let api: typeof OtelApi | undefined;
let tracer: Tracer | undefined;

/** True once the SDK was started with a span exporter (src/tracing-sdk.ts). */
export function tracingActive(): boolean {
  return active;
}

/** Called by src/tracing-sdk.ts once the SDK is registered (with the API), and with undefined when it stops. */
export function setTracingApi(otel: typeof OtelApi | undefined): void {
  api = otel;
  tracer = otel?.trace.getTracer('platforma-event-gateway');
  active = otel !== undefined;
}

/** The API, for the span functions below (called only while tracing is on). */
function otel(): { api: typeof OtelApi; tracer: Tracer } {
  if (!api || !tracer) throw new Error('tracing is off');
  return { api, tracer };
}

/** The remote span a trace context names, as a parent context. */
function parentOf(tc: TraceContext | undefined): Context {
  const { createTraceState, isSpanContextValid, ROOT_CONTEXT, trace } = otel().api;
  if (!tc) return ROOT_CONTEXT;
  const [, traceId, spanId, flags] = tc.traceparent.split('-') as [string, string, string, string];
  const spanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & 1,
    isRemote: true,
    ...(tc.tracestate === undefined ? {} : { traceState: createTraceState(tc.tracestate) }),
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/** The context of `span` as a W3C trace context. */
export function traceContextOfSpan(span: Span): TraceContext {
  const sc = span.spanContext();
  const tc: TraceContext = { traceparent: `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & 1 ? '01' : '00'}` };
  const state = sc.traceState?.serialize();
  if (state) tc.tracestate = state;
  return tc;
}

/** What the messaging attributes say about one event. */
export interface MessageAttributes {
  /** The NATS subject it is stored under. */
  subject: string;
  id: string;
  correlationId: string;
}

function attributes(op: 'send' | 'process' | 'settle', opName: string, m: MessageAttributes, extra?: Attributes): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': op,
    'messaging.operation.name': opName,
    'messaging.destination.name': m.subject,
    'messaging.message.id': m.id,
    'messaging.message.conversation_id': m.correlationId,
    ...extra,
  };
}

/** A producer `send` span, child of the publisher's trace context. */
export function startSendSpan(m: MessageAttributes, parent: TraceContext | undefined): Span {
  const { api, tracer } = otel();
  return tracer.startSpan('send', { kind: api.SpanKind.PRODUCER, attributes: attributes('send', 'send', m) }, parentOf(parent));
}

/** A consumer `process` span, child of the context the event carries. */
export function startProcessSpan(m: MessageAttributes, carried: TraceContext | undefined, extra?: Attributes): Span {
  const { api, tracer } = otel();
  return tracer.startSpan(
    'process',
    { kind: api.SpanKind.CONSUMER, attributes: attributes('process', 'process', m, extra) },
    parentOf(carried),
  );
}

/** A `settle` span (ack, nak): child of the context the event carries, when known. */
export function startSettleSpan(op: 'ack' | 'nak' | 'term', m: MessageAttributes | undefined, carried: TraceContext | undefined): Span {
  const attrs: Attributes = m
    ? attributes('settle', op, m)
    : { 'messaging.system': 'nats', 'messaging.operation.type': 'settle', 'messaging.operation.name': op };
  const { api, tracer } = otel();
  return tracer.startSpan('settle', { kind: api.SpanKind.CONSUMER, attributes: attrs }, parentOf(carried));
}

/** Ends a span, marked as an error when `err` is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: otel().api.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}
