// The gateway's one connection to NATS: connect (waiting for the first server), reconnect forever
// with jittered exponential backoff, track the connection status, and drain on close.

import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BusConfig, BusContext } from './context.ts';

export class BusConnection implements BusContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: BusConfig;
  readonly log: Logger;
  #connected = true;
  readonly #onReconnect: (() => void)[] = [];

  private constructor(nc: NatsConnection, jsm: JetStreamManager, config: BusConfig, log: Logger) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc, { timeout: config.PUBLISH_TIMEOUT_MS });
    this.config = config;
    this.log = log;
  }

  /** Connects, waiting for the first connection, and watches the connection from then on. */
  static async open(config: BusConfig, log: Logger): Promise<BusConnection> {
    const servers = config.NATS_URL;
    if (!servers || servers.length === 0) throw new Error('NATS_URL is not set');
    let attempt = 0;
    const nc = await connect({
      servers,
      name: 'platforma-event-gateway',
      token: config.NATS_TOKEN,
      user: config.NATS_USER,
      pass: config.NATS_PASSWORD,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      // Exponential backoff from 100 ms to 5 s with jitter, forever; reset on reconnect.
      reconnectDelayHandler: () => {
        const base = Math.min(5000, 100 * 2 ** Math.min(attempt++, 6));
        return base / 2 + Math.random() * (base / 2);
      },
      pingInterval: 10_000,
      maxPingOut: 3,
      // nats.js otherwise builds two Error objects (stack traces included) for every request,
      // publishes too: 15 % of the gateway's CPU under load. Failures are translated to GW_*
      // errors anyway, whose stack is ours.
      noAsyncTraces: true,
    });
    const jsm = await jetstreamManager(nc, { timeout: config.PUBLISH_TIMEOUT_MS });
    const connection = new BusConnection(nc, jsm, config, log);
    void connection.#watch(() => {
      attempt = 0;
    });
    return connection;
  }

  /** Runs `fn` after every reconnect (e.g. to ensure the streams a new server may lack). */
  onReconnect(fn: () => void): void {
    this.#onReconnect.push(fn);
  }

  async #watch(resetBackoff: () => void): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.log.warn({ server: s.server }, 'NATS disconnected');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        resetBackoff();
        this.log.info({ server: s.server }, 'NATS reconnected');
        for (const fn of this.#onReconnect) fn();
      } else if (s.type === 'close') {
        this.#connected = false;
      }
    }
  }

  get connected(): boolean {
    return this.#connected && !this.nc.isClosed() && !this.nc.isDraining();
  }

  /** The connected server's version, e.g. `2.11.4` (empty before the first connection). */
  get serverVersion(): string {
    return this.nc.info?.version ?? '';
  }

  /**
   * Stops taking work and flushes what is in flight, for at most NATS_DRAIN_TIMEOUT_MS: a drain
   * needs the server's answer, so with NATS gone (disconnected) the connection is closed at once,
   * and with a server that stopped answering (frozen, unreachable without a disconnect yet) it is
   * closed when the drain takes too long. Nothing acknowledged is lost either way: an event is
   * acknowledged only once JetStream stored it.
   */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    if (!this.#connected) {
      await this.nc.close();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.config.NATS_DRAIN_TIMEOUT_MS);
    });
    try {
      const timedOut = await Promise.race([this.nc.drain().then(() => false), gaveUp]);
      if (timedOut) {
        this.log.warn({ ms: this.config.NATS_DRAIN_TIMEOUT_MS }, 'NATS drain did not finish in time; closing the connection');
        await this.nc.close();
      }
    } catch {
      await this.nc.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
