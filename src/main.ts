// The gateway process: configuration, the embedded nats-server when NATS_URL is unset, the HTTP
// server, and graceful shutdown on SIGTERM/SIGINT.
import { pino } from 'pino';
import type { NatsServer } from '../dev/nats-server/embedded.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { buildApp } from './app.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]'], censor: '[redacted]' },
  });

  let embedded: NatsServer | undefined;
  if (!config.NATS_URL) {
    // A dev convenience, loaded only when used: the container image does not ship dev/.
    const { startDevNatsServer } = await import('../dev/nats-server/embedded.ts').catch((err: { code?: string }) => {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      throw new Error('NATS_URL is not set, and this installation has no dev/ to run an embedded nats-server: set NATS_URL');
    });
    embedded = await startDevNatsServer(config, log);
    config = { ...config, NATS_URL: [embedded.url] };
  }

  const app = await buildApp(config, { logger: log });
  await app.listen({ host: config.HOST, port: config.PORT });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 5000);
    force.unref();
    // Connections still open after the grace period (slow clients, idle keep-alives) are cut.
    setTimeout(() => app.server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS).unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests, drains NATS (onClose)
      await embedded?.stop();
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
