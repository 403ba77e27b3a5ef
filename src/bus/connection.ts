// The gateway's one connection to NATS: connect in the background (every attempt logged with the
// URLs and the reason it failed, retried with jittered exponential backoff, forever), reconnect
// forever the same way, track the connection status, and drain on close. Until the first
// connection, `nc`, `js` and `jsm` throw GW_NOT_READY: the gateway listens and answers 503 while
// NATS is unreachable at start (src/plugins/bus.ts).

import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type ConnectionOptions, connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import { within } from '../deadline.ts';
import type { BusConfig, BusContext, BusHooks, BusStatus } from './context.ts';
import { type NatsSecurityOptions, natsSecurityOptions } from './security.ts';

/** How long one connection attempt (TCP, TLS, the server's INFO) may take. */
const CONNECT_ATTEMPT_TIMEOUT_MS = 5000;

/** GW_NOT_READY with the configured Retry-After: the bus is not connected (or not set up) yet. */
export function notReady(config: Pick<BusConfig, 'RETRY_AFTER_SECONDS'>, detail: string): GatewayError {
  return new GatewayError('GW_NOT_READY', detail, { retryAfter: config.RETRY_AFTER_SECONDS });
}

/** A failed attempt's reason for the log: the message and the system error code under it, if any. */
function reasonOf(err: unknown): string {
  const e = err as { message?: string; code?: unknown; cause?: { code?: unknown; message?: string } };
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : undefined;
  const message = e?.message ?? String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

export class BusConnection implements BusContext {
  readonly config: BusConfig;
  readonly log: Logger;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #connected = false;
  #closing = false;
  /** Wakes the backoff sleep between two attempts (close). */
  #wake: (() => void) | undefined;
  readonly #onReconnect: (() => void)[] = [];
  readonly hooks: BusHooks = { publishAcked: undefined, status: new Set() };
  /** Resolves once connected (pending for good if closed before). */
  readonly opened: Promise<void>;
  /** Resolves once the first attempt connected (true) or failed (false). */
  readonly firstAttempt: Promise<boolean>;

  /** Credentials and TLS, read from their files once, at start (security.ts). */
  readonly #security: NatsSecurityOptions;

  private constructor(config: BusConfig, log: Logger, security: NatsSecurityOptions) {
    this.config = config;
    this.#security = security;
    this.log = log;
    let opened!: () => void;
    let first!: (ok: boolean) => void;
    this.opened = new Promise((resolve) => {
      opened = resolve;
    });
    this.firstAttempt = new Promise((resolve) => {
      first = resolve;
    });
    void this.#connectLoop(opened, first);
  }

  /**
   * Starts connecting in the background; `opened` says when it is done. Throws a ConfigError at
   * once when a credential or TLS file is missing or malformed.
   */
  static start(config: BusConfig, log: Logger): BusConnection {
    if (!config.NATS_URL || config.NATS_URL.length === 0) throw new Error('NATS_URL is not set');
    return new BusConnection(config, log, natsSecurityOptions(config));
  }

  get nc(): NatsConnection {
    if (!this.#nc) throw notReady(this.config, 'Not connected to NATS yet');
    return this.#nc;
  }

  get js(): JetStreamClient {
    if (!this.#js) throw notReady(this.config, 'Not connected to NATS yet');
    return this.#js;
  }

  get jsm(): JetStreamManager {
    if (!this.#jsm) throw notReady(this.config, 'Not connected to NATS yet');
    return this.#jsm;
  }

  async #connectLoop(opened: () => void, first: (ok: boolean) => void): Promise<void> {
    const servers = this.config.NATS_URL as string[];
    let attempt = 0;
    // Exponential backoff from 100 ms to 5 s with jitter, forever; reset on reconnect.
    const backoff = () => {
      const base = Math.min(5000, 100 * 2 ** Math.min(attempt++, 6));
      return base / 2 + Math.random() * (base / 2);
    };
    const options: ConnectionOptions = {
      servers,
      name: 'platforma-event-gateway',
      ...this.#security,
      timeout: CONNECT_ATTEMPT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      // The first connection is retried here (each attempt logged), later ones by nats.js.
      waitOnFirstConnect: false,
      reconnectDelayHandler: backoff,
      pingInterval: 10_000,
      maxPingOut: 3,
      // nats.js otherwise builds two Error objects (stack traces included) for every request,
      // publishes too: 15 % of the gateway's CPU under load. Failures are translated to GW_*
      // errors anyway, whose stack is ours.
      noAsyncTraces: true,
    };
    for (let tries = 1; !this.#closing; tries++) {
      let nc: NatsConnection | undefined;
      try {
        if (tries === 1) this.log.info({ servers, tls: this.#security.tls !== undefined }, 'connecting to NATS');
        nc = await connect(options);
        const jsm = await jetstreamManager(nc, { timeout: this.config.PUBLISH_TIMEOUT_MS });
        if (this.#closing) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#jsm = jsm;
        this.#js = jetstream(nc, { timeout: this.config.PUBLISH_TIMEOUT_MS });
        this.#connected = true;
        attempt = 0;
        this.log.info({ server: nc.getServer(), attempt: tries }, 'NATS connected');
        this.#emit('connected');
        void this.#watch(() => {
          attempt = 0;
        });
        first(true);
        opened();
        return;
      } catch (err) {
        await nc?.close().catch(() => undefined);
        const delayMs = Math.round(backoff());
        this.log.warn(
          { servers, attempt: tries, reason: reasonOf(err), retry_in_ms: delayMs },
          `NATS connection attempt ${tries} to ${servers.join(', ')} failed: ${reasonOf(err)}`,
        );
        first(false);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
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
        this.#emit('disconnected');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        resetBackoff();
        this.log.info({ server: s.server }, 'NATS reconnected');
        for (const fn of this.#onReconnect) fn();
        this.#emit('reconnected');
      } else if (s.type === 'close') {
        this.#connected = false;
        this.#emit('closed');
      }
    }
  }

  #emit(status: BusStatus): void {
    for (const fn of this.hooks.status) {
      try {
        fn(status);
      } catch (err) {
        this.log.warn({ err, status }, 'a bus status listener failed');
      }
    }
  }

  get connected(): boolean {
    const nc = this.#nc;
    return this.#connected && nc !== undefined && !nc.isClosed() && !nc.isDraining();
  }

  /** The connected server's version, e.g. `2.11.4` (empty before the first connection). */
  get serverVersion(): string {
    return this.#nc?.info?.version ?? '';
  }

  /**
   * Stops taking work and flushes what is in flight, for at most NATS_DRAIN_TIMEOUT_MS: a drain
   * needs the server's answer, so with NATS gone (disconnected) the connection is closed at once,
   * and with a server that stopped answering (frozen, unreachable without a disconnect yet) it is
   * closed when the drain takes too long. Nothing acknowledged is lost either way: an event is
   * acknowledged only once JetStream stored it.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return; // not connected yet: the connect loop stops (and closes what it gets)
    if (!this.#connected) {
      await nc.close();
      return;
    }
    try {
      const timedOut = await within(
        nc.drain().then(() => false),
        this.config.NATS_DRAIN_TIMEOUT_MS,
        true,
      );
      if (timedOut) {
        this.log.warn({ ms: this.config.NATS_DRAIN_TIMEOUT_MS }, 'NATS drain did not finish in time; closing the connection');
        await nc.close();
      }
    } catch {
      await nc.close();
    }
  }
}
