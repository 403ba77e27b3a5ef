// OpenTelemetry tracing end to end: the gateway as a child process (the SDK is process-global)
// with OTEL_* pointing at an OTLP/HTTP receiver in this test (a real node:http server reading
// OTLP JSON). A publish with a `traceparent` makes a producer `send` span that is its child; the
// event carries the send span's context to a WebSocket subscriber and an HTTP fetch, whose
// `process` and `settle` spans are children of the send span; attributes follow the messaging
// conventions. Without OTEL_* nothing starts.
import { createServer, type IncomingMessage } from 'node:http';
import t from 'tap';
import { spawnGateway } from './helpers/child-gateway.ts';
import { eventually } from './helpers/eventually.ts';
import { auth, sampleEvent } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { WsClient } from './helpers/ws-client.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }[];
}

const SPAN_KIND_PRODUCER = 4;
const SPAN_KIND_CONSUMER = 5;

/** An OTLP/HTTP trace receiver (JSON): every span it was sent, and the paths it was posted to. */
async function otlpReceiver(t: { teardown(fn: () => unknown): void }) {
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const port = (server.address() as { port: number }).port;
  return { spans, paths, endpoint: `http://127.0.0.1:${port}/v1/traces` };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v?.boolValue;
};

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

t.test('send, process and settle spans reach the OTLP receiver with the right parents', async (t) => {
  const nats = await startNats(t);
  const otlp = await otlpReceiver(t);
  const key = 'tracing-test-key';
  const gw = spawnGateway(t, {
    NATS_URL: nats.url,
    DEV_API_KEY: key,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'gateway-under-test',
  });
  const url = await gw.listening(30_000);
  t.ok(
    gw.lines.some((l) => l.includes('OpenTelemetry tracing on')),
    'the SDK started',
  );

  const ws = await WsClient.connect(t, url, { key });
  await ws.subscribe({ sub: 'c', types: ['*'], ack: 'client', from: 'new' });

  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      ...auth(key),
      'content-type': 'application/json',
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      tracestate: 'vendor=abc',
      'x-correlation-id': 'req_traced_1',
    },
    body: JSON.stringify(sampleEvent()),
  });
  t.equal(res.status, 202);
  const published = (await res.json()) as { id: string; seq: number };

  const frame = await ws.next((f) => f.op === 'event' && f.seq === published.seq, 10_000);
  const carried = String(frame.traceparent);
  t.match(carried, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), 'the frame carries the trace, continued by the gateway');
  t.equal(frame.tracestate, 'vendor=abc', 'tracestate travels too');
  const sendSpanId = carried.split('-')[2] as string;
  t.not(sendSpanId, PARENT_ID, "what travels is the send span's context");
  t.equal((frame.event as { metadata: { trace_id?: string } }).metadata.trace_id, TRACE_ID, 'metadata.trace_id keeps its meaning');
  ws.send({ op: 'ack', sub: 'c', seq: published.seq });

  // The same event through an HTTP fetch.
  const put = await fetch(`${url}/v1/consumers/traced`, {
    method: 'PUT',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify({ types: ['*'], from: 'all' }),
  });
  t.equal(put.status, 201);
  const fetched = (await (
    await fetch(`${url}/v1/consumers/traced/fetch`, {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: JSON.stringify({ max: 1, wait_ms: 5000 }),
    })
  ).json()) as { events: { traceparent?: string; tracestate?: string }[] };
  t.equal(fetched.events[0]?.traceparent, carried, 'a fetch item carries the same trace context');
  t.equal(fetched.events[0]?.tracestate, 'vendor=abc');

  const spans = await eventually(
    'the send, process and settle spans',
    () => otlp.spans.filter((s) => s.traceId === TRACE_ID),
    (found) =>
      found.some((s) => s.name === 'send') &&
      found.filter((s) => s.name === 'process').length >= 2 &&
      found.some((s) => s.name === 'settle'),
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  t.ok(otlp.paths.every((p) => p === '/v1/traces'));
  const send = spans.find((s) => s.name === 'send') as OtlpSpan;
  t.equal(send.spanId, sendSpanId);
  t.equal(send.parentSpanId, PARENT_ID, "the send span is the child of the publisher's traceparent");
  t.equal(send.kind, SPAN_KIND_PRODUCER);
  t.equal(attr(send, 'messaging.system'), 'nats');
  t.equal(attr(send, 'messaging.operation.type'), 'send');
  t.equal(attr(send, 'messaging.message.id'), published.id);
  t.equal(attr(send, 'messaging.message.conversation_id'), 'req_traced_1');
  t.match(String(attr(send, 'messaging.destination.name')), /^events\.ten_demo\.order\.provisioned\.req_traced_1$/);

  for (const p of spans.filter((s) => s.name === 'process')) {
    t.equal(p.parentSpanId, sendSpanId, 'a process span is the child of the send span');
    t.equal(p.kind, SPAN_KIND_CONSUMER);
    t.equal(attr(p, 'messaging.operation.type'), 'process');
    t.equal(attr(p, 'messaging.message.id'), published.id);
    t.equal(attr(p, 'messaging.message.conversation_id'), 'req_traced_1');
    t.equal(attr(p, 'messaging.destination.name'), attr(send, 'messaging.destination.name'));
  }
  const settle = spans.find((s) => s.name === 'settle') as OtlpSpan;
  t.equal(settle.parentSpanId, sendSpanId, 'the settle span of the WebSocket ack is the child of the send span');
  t.equal(attr(settle, 'messaging.operation.type'), 'settle');
  t.equal(attr(settle, 'messaging.operation.name'), 'ack');

  // No traceparent: the send span starts a trace, and its context is what travels.
  const plain = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify(sampleEvent()),
  });
  const second = (await plain.json()) as { id: string; seq: number };
  const frame2 = await ws.next((f) => f.op === 'event' && f.seq === second.seq, 10_000);
  const [, traceId2, spanId2] = String(frame2.traceparent).split('-');
  const root = await eventually('the root send span', () => otlp.spans.find((s) => s.name === 'send' && s.spanId === spanId2), Boolean, {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
  t.equal(root?.traceId, traceId2);
  t.notOk(root?.parentSpanId, 'a root span');
  t.equal(attr(root as OtlpSpan, 'messaging.message.id'), second.id);
});

t.test('without OTEL_* variables the SDK does not start', async (t) => {
  const nats = await startNats(t);
  const gw = spawnGateway(t, { NATS_URL: nats.url, DEV_API_KEY: 'k', OTEL_TRACES_EXPORTER: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' });
  await gw.listening(30_000);
  t.notOk(
    gw.lines.some((l) => l.includes('OpenTelemetry tracing on')),
    'no tracing',
  );
});
