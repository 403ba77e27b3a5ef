// When tracing starts (the OTEL_* variables that configure a trace exporter) and which W3C trace
// contexts the gateway accepts from a publisher (and so stores with the event).
import t from 'tap';
import { traceContextFrom, tracingConfigured } from '../src/tracing.ts';

t.test('tracing is on only when OTEL_* configures a trace exporter', async (t) => {
  t.notOk(tracingConfigured({}), 'nothing set: off');
  t.ok(tracingConfigured({ OTEL_TRACES_EXPORTER: 'otlp' }));
  t.ok(tracingConfigured({ OTEL_TRACES_EXPORTER: 'zipkin,otlp' }));
  t.notOk(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none' }));
  t.notOk(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'none wins');
  t.ok(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }));
  t.ok(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }));
  t.notOk(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), 'blank is unset');
  t.notOk(tracingConfigured({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), 'OTEL_SDK_DISABLED wins');
  t.ok(tracingConfigured({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }));
});

t.test('a publisher trace context is taken only when valid', async (t) => {
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  t.same(traceContextFrom(tp), { traceparent: tp });
  t.same(traceContextFrom(tp, 'rojo=00f067aa0ba902b7'), { traceparent: tp, tracestate: 'rojo=00f067aa0ba902b7' });
  t.same(traceContextFrom(` ${tp} `), { traceparent: tp }, 'surrounding blanks trimmed');
  t.same(
    traceContextFrom('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-comes-later'),
    { traceparent: tp },
    'a later version keeps its first four fields, as version 00',
  );
  for (const bad of [
    undefined,
    ['a', 'b'],
    '',
    'garbage',
    tp.toUpperCase(),
    `${tp}-extra`,
    'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
    `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
  ]) {
    t.equal(traceContextFrom(bad), undefined, `refused: ${JSON.stringify(bad)}`);
  }
  t.same(traceContextFrom(tp, 'bad\r\nheader: injected'), { traceparent: tp }, 'a tracestate that could break a header is dropped');
  t.same(traceContextFrom(tp, 'x'.repeat(600)), { traceparent: tp }, 'an oversized tracestate is dropped');
});
