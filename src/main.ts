// The gateway process: configuration, the embedded nats-server when NATS_URL is unset, the HTTP
// server, graceful shutdown on SIGTERM/SIGINT, and SIGHUP: read API_KEYS_FILE again.
import { pino } from 'pino';
import type { NatsServer } from '../dev/nats-server/embedded.ts';
import { ApiKeyFileError, ApiKeys } from './auth/api-keys.ts';
import { type Catalogue, CatalogueFileError, loadCatalogue } from './catalogue.ts';
import { natsSecurityOptions } from './bus/index.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { buildApp } from './app.ts';
import { tracingConfigured } from './tracing.ts';
import type { Tracing } from './tracing-sdk.ts';

async function main(): Promise<void> {
  // Everything configured is read and checked before anything starts (an embedded nats-server
  // started before a bad key file was found would be left behind): exit 2 with the reason.
  let config: Config;
  let apiKeys: ApiKeys | undefined;
  let catalogue: Catalogue;
  try {
    config = loadConfig();
    // The NATS credential and TLS files: read and checked now, not on the first connection attempt.
    natsSecurityOptions(config);
    apiKeys = config.API_KEYS_FILE ? ApiKeys.fromFile(config.API_KEYS_FILE) : undefined;
    catalogue = loadCatalogue(config.EVENT_TYPES_DIR);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ApiKeyFileError || err instanceof CatalogueFileError) {
      console.error(err instanceof ConfigError ? err.message : `Invalid configuration: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]'], censor: '[redacted]' },
  });
  if (apiKeys) log.info({ keys: apiKeys.size }, 'API keys loaded');
  // Until the app is built, a SIGHUP (a terminal closing, a `kill -HUP` meant as "reload") must
  // not stop the gateway, which Node's default would; once built, it reloads the key file.
  let onHup = () => log.info('SIGHUP before the gateway started: nothing to reload yet');
  process.on('SIGHUP', () => onHup());

  let embedded: NatsServer | undefined;
  if (!config.NATS_URL) {
    // A dev convenience, loaded only when used: the container image does not ship dev/.
    const { startDevNatsServer } = await import('../dev/nats-server/embedded.ts').catch((err: { code?: string }) => {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      throw new Error('NATS_URL is not set, and this installation has no dev/ to run an embedded nats-server: set NATS_URL');
    });
    try {
      embedded = await startDevNatsServer(config, log);
    } catch (err) {
      // Another gateway's embedded server holds NATS_DATA_DIR: its message says what to do.
      if ((err as { exitCode?: unknown }).exitCode === 2) {
        log.error((err as Error).message);
        process.exit(2);
      }
      throw err;
    }
    config = { ...config, NATS_URL: [embedded.url] };
  }

  // OpenTelemetry, before the app is built: only when OTEL_* variables configure a trace exporter
  // (the SDK is loaded only then); the app itself speaks @opentelemetry/api, a no-op without it.
  let tracing: Tracing | undefined;
  if (tracingConfigured()) {
    tracing = (await import('./tracing-sdk.ts')).startTracing();
    log.info('OpenTelemetry tracing on (OTEL_* variables)');
  }

  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(config, { logger: log, apiKeys, catalogue });
    const built = app;
    // A file that does not load keeps the keys in force (the plugin logs why).
    onHup = () => {
      if (!config.API_KEYS_FILE) log.info('SIGHUP: no API_KEYS_FILE to reload');
      else built.reloadApiKeys();
    };
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    // Not listening (the port is taken, NATS refused): stop what was started, then fail.
    await embedded?.stop().catch(() => undefined);
    throw err;
  }

  // SIGTERM (a rolling restart): /readyz answers 503 at once while requests are still served for
  // SHUTDOWN_DRAIN_MS, so load balancers move away before anything is refused; every answer then
  // closes its connection. Then the listener closes (idle keep-alive connections with it),
  // WebSockets close with 1001, in-flight requests finish (cut after
  // SHUTDOWN_TIMEOUT_MS), NATS drains (at most NATS_DRAIN_TIMEOUT_MS), exit 0. SIGINT (Ctrl-C)
  // skips the drain period.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const drainMs = signal === 'SIGTERM' ? config.SHUTDOWN_DRAIN_MS : 0;
    const force = setTimeout(
      () => {
        log.error('shutdown timed out; exiting');
        process.exit(1);
      },
      drainMs + config.SHUTDOWN_TIMEOUT_MS + config.NATS_DRAIN_TIMEOUT_MS + 5000,
    );
    force.unref();
    app.beginDrain();
    if (drainMs > 0) {
      log.info({ signal, drain_ms: drainMs }, 'shutting down: /readyz answers 503, still serving for SHUTDOWN_DRAIN_MS');
      await new Promise((resolve) => setTimeout(resolve, drainMs));
    }
    log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // Connections still open after the grace period (slow clients) are cut.
    setTimeout(() => app.server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS).unref();
    try {
      // Stops accepting (Node's server.close() also closes the keep-alive connections idle then;
      // those busy close after their answer, which says `Connection: close`), waits for in-flight
      // requests, drains NATS (onClose).
      await app.close();
      await embedded?.stop();
      // Spans not yet exported leave now (bounded by the exporter's own timeout).
      await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'flushing traces failed'));
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
