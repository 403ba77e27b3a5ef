// The dev convenience of `npm start` without NATS_URL: find (or fetch) a nats-server and run it
// as the gateway's child, its JetStream store in NATS_DATA_DIR. Production sets NATS_URL.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { findNatsServer } from './binary.ts';
import { type NatsServer, startEmbeddedNatsServer } from './process.ts';

export type { NatsServer };

export async function startDevNatsServer(
  settings: { NATS_SERVER_BIN: string | undefined; NATS_DATA_DIR: string },
  log: Logger,
): Promise<NatsServer> {
  const bin = await findNatsServer(settings.NATS_SERVER_BIN, (msg) => log.info(msg));
  const storeDir = resolve(settings.NATS_DATA_DIR);
  const embedded = await startEmbeddedNatsServer({
    bin,
    storeDir,
    log: (line) => log.debug({ nats: line }),
    warn: (msg) => log.warn(msg),
  });
  log.info({ url: embedded.url, nats_pid: embedded.process.pid, store: storeDir }, 'embedded nats-server started');
  return embedded;
}
