// Prometheus metrics, as `app.metrics` (src/metrics.ts: one registry per app), served as text at
// `GET /metrics` on a listener of its own (METRICS_HOST:METRICS_PORT, `0` = no listener), apart
// from the API so it is never exposed with it. Several instances on one host are normal: a port
// already in use is a warning, never a failed start. Besides what handlers and the delivery engine
// count, this plugin wires: HTTP request durations (a hook per route, its template bound once),
// the bus's publish-ack latency and connection status, WebSocket counts (read when scraped), the
// delivery counters (observe.ts), a periodic sample of the durable consumers' backlog, and Node's
// default process metrics.
import { createServer, type Server } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { observeDeliveries } from '../delivery/observe.ts';
import { GatewayMetrics } from '../metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

/** The subscription kinds always exposed (with 0), so dashboards see every series from the start. */
const SUBSCRIPTION_KINDS = ['live', 'replay', 'group', 'ephemeral'];

export const metricsPlugin = fp(
  async function metrics(app) {
    const { config, bus } = app;
    const m = new GatewayMetrics(config);
    app.decorate('metrics', m);

    // ---- HTTP: each route's hook has its template bound; unmatched requests share one label.
    app.addHook('onRoute', (route) => {
      const template = route.url;
      const hook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        m.observeHttp(template, req.method, reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      const hooks = route.onResponse;
      route.onResponse = [...(hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]), hook];
    });
    app.addHook('onResponse', (req, reply, done) => {
      if (req.is404) m.observeHttp('unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

    // ---- the bus
    bus.onPublishAck((seconds) => m.publishAck.observe(seconds));
    bus.onStatus((status) => {
      if (status === 'reconnected') m.natsReconnects.inc();
      else if (status === 'disconnected') m.natsDisconnects.inc();
    });
    m.gaugeOnScrape('gateway_nats_connected', '1 while connected to NATS, else 0.', () => (bus.connected ? 1 : 0));
    observeDeliveries(bus, m);

    // ---- WebSockets, counted when scraped (nothing on the frame path)
    m.gaugeOnScrape('gateway_websocket_connections', 'Open WebSocket connections.', () => app.wsSubscriptions?.connectionCount ?? 0);
    m.labelledGaugeOnScrape('gateway_websocket_subscriptions', 'Running WebSocket subscriptions by kind.', 'kind', () => {
      const counts = app.wsSubscriptions?.subscriptionsByKind() ?? new Map<string, number>();
      for (const kind of SUBSCRIPTION_KINDS) if (!counts.has(kind)) counts.set(kind, 0);
      return counts;
    });

    if (config.METRICS_PORT === 0) return;
    m.collectDefaults();
    // prom-client loaded (and the default metrics started) now, not at the first scrape.
    await m.registry();

    // ---- the durable consumers' backlog, sampled (a scrape never reaches NATS)
    let sampling = false;
    const sample = async () => {
      if (sampling || !bus.connected) return;
      sampling = true;
      try {
        m.recordConsumerSample(await bus.sampleConsumers(config.METRICS_CONSUMER_SAMPLE_MAX));
      } catch (err) {
        app.log.debug({ err }, 'could not sample the consumers for metrics');
      } finally {
        sampling = false;
      }
    };
    const sampler = setInterval(() => void sample(), config.METRICS_CONSUMER_SAMPLE_INTERVAL);
    sampler.unref();
    void bus.ready.then(sample);

    // ---- the listener
    let server: Server | undefined;
    app.addHook('onReady', async () => {
      server = await listenForScrapes(m, config.METRICS_HOST, config.METRICS_PORT, app.log);
    });
    app.addHook('onClose', async () => {
      clearInterval(sampler);
      if (!server) return;
      const closing = new Promise((resolve) => server?.close(resolve));
      server.closeAllConnections();
      await closing;
    });
  },
  { name: 'metrics', fastify: '5.x', dependencies: ['config', 'bus'] },
);

/** Serves `GET /metrics`; resolves undefined (after a warning) when it cannot listen. */
async function listenForScrapes(
  m: GatewayMetrics,
  host: string,
  port: number,
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void },
): Promise<Server | undefined> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: scrape /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    m.registry()
      .then(async (registry) => {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      })
      .catch((err: unknown) => {
        log.warn({ err }, 'metrics could not be collected');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Metrics could not be collected\n');
      });
  });
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    log.warn(
      { err, host, port, code },
      code === 'EADDRINUSE'
        ? `metrics port ${host}:${port} is already in use (another instance?): serving without /metrics; set METRICS_PORT to a free port, or 0`
        : `metrics listener on ${host}:${port} failed: serving without /metrics`,
    );
    return undefined;
  }
  server.unref();
  log.info({ host, port }, `metrics at http://${host}:${port}/metrics`);
  return server;
}
