// The OpenTelemetry Node SDK, started by src/main.ts before the app is built, and only when the
// standard OTEL_* variables ask for a trace exporter: OTEL_TRACES_EXPORTER (other than `none`),
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true wins.
// Everything else (protocol, headers, sampler, resource, batch delays) is the SDK's own reading of
// OTEL_*. Traces only: the gateway's metrics are Prometheus (src/metrics.ts), its logs pino.
import * as api from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { setTracingApi, tracingConfigured } from './tracing.ts';

export interface Tracing {
  /** Flushes the spans not yet exported (bounded by the exporter's timeout). */
  shutdown(): Promise<void>;
}

/** Starts the SDK when configured; undefined (nothing started, spans are no-ops) otherwise. */
export function startTracing(env: Record<string, string | undefined> = process.env): Tracing | undefined {
  if (!tracingConfigured(env)) return undefined;
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'platforma-event-gateway' }),
    // No metric readers, no log processors: only the trace pipeline comes from OTEL_*.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  setTracingApi(api);
  return {
    shutdown: async () => {
      setTracingApi(undefined);
      await sdk.shutdown();
    },
  };
}
