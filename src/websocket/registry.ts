// The WebSocket side of one gateway instance: the open connections, the ticket issuer, the
// keepalive timer and shutdown. routes/ws.ts mounts it; everything a connection needs
// comes from here, not from module-level singletons.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { StreamClose } from '../../schemas/sse.ts';
import { CLOSE_CODES } from '../../schemas/websocket.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Bus, LiveFeed } from '../bus/index.ts';
import type { Config } from '../config.ts';
import type { Quotas } from '../quotas/quotas.ts';
import { WsConnection } from './connection.ts';
import { WsTickets } from './tickets.ts';

/**
 * A long-lived HTTP response the instance keeps open besides its WebSockets (a Server-Sent Events
 * stream, src/delivery/sinks/sse.ts): it gets the heartbeat and is ended on shutdown.
 */
export interface OpenStream {
  heartbeat(): void;
  shutdown(): Promise<void>;
  /** Its principal may read no more (tenant disabled, key revoked): `event: close` with `reason`, and it ends. */
  revoke(reason: Extract<StreamClose['reason'], 'tenant_disabled' | 'key_revoked'>, message: string): void;
  /** Resolves once the stream is over and its delivery stopped. */
  readonly closed: Promise<void>;
}

export class WebSocketRegistry {
  /** The instance's live feed (the bus owns it). */
  readonly hub: LiveFeed;
  readonly tickets: WsTickets;
  readonly #connections = new Set<WsConnection>();
  /** Who opened each connection: the admin API closes a disabled tenant's or a revoked key's. */
  readonly #principals = new WeakMap<WsConnection, Principal>();
  readonly #bus: Bus;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #quotas: Quotas | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #closing = false;
  /** Open event streams, each with who opened it (as `#principals` for connections). */
  readonly #streams = new Map<OpenStream, Principal>();
  #streamBeat: NodeJS.Timeout | undefined;

  private constructor(bus: Bus, config: Config, log: Logger, quotas: Quotas | undefined) {
    this.#bus = bus;
    this.#quotas = quotas;
    this.#config = config;
    this.#log = log;
    this.hub = bus.live;
    let secret = config.WS_TICKET_SECRET;
    if (secret === undefined) {
      secret = WsTickets.randomSecret();
      log.warn('WS_TICKET_SECRET is not set: WebSocket tickets only work on the instance that issued them');
    }
    this.tickets = new WsTickets(bus, secret, config.WS_TICKET_TTL);
  }

  /** `quotas`: the tenants' subscription and durable-consumer limits (none when omitted). */
  static async start(bus: Bus, config: Config, log: Logger, quotas?: Quotas): Promise<WebSocketRegistry> {
    const ws = new WebSocketRegistry(bus, config, log, quotas);
    // One timer for every connection: ping, and drop those that did not answer the previous ping.
    ws.#pinger = setInterval(() => ws.#heartbeat(), config.WS_PING_INTERVAL);
    ws.#pinger.unref();
    // One timer for every event stream too: its `: hb` comment and stall check.
    ws.#streamBeat = setInterval(() => {
      for (const s of ws.#streams.keys()) s.heartbeat();
    }, config.SSE_HEARTBEAT_INTERVAL);
    ws.#streamBeat.unref();
    return ws;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Running subscriptions of every connection, by kind (`live`, `replay`, `group`, `ephemeral`). */
  subscriptionsByKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const conn of this.#connections) conn.countSubscriptions(counts);
    return counts;
  }

  /** Open event streams (Server-Sent Events); WebSockets are `connectionCount`. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Keeps an open stream, opened by `principal` (its tenant and key, for `endStreamsWhere`), until
   * it closes; false (the caller ends it) once the instance is closing.
   */
  addStream(stream: OpenStream, principal: Principal): boolean {
    if (this.#closing) return false;
    this.#streams.set(stream, principal);
    void stream.closed.then(() => this.#streams.delete(stream));
    return true;
  }

  accept(socket: WebSocket, principal: Principal, log: Logger): void {
    if (this.#closing) {
      socket.close(CLOSE_CODES.GOING_AWAY.code, 'shutting down');
      return;
    }
    const conn = new WsConnection(
      socket,
      principal,
      { bus: this.#bus, config: this.#config, quotas: this.#quotas },
      log.child({ conn: randomUUID(), tenant_id: principal.tenantId }),
    );
    this.#connections.add(conn);
    this.#principals.set(conn, principal);
    conn.log.info('websocket connected');
    socket.on('close', (code: number) => {
      this.#connections.delete(conn);
      conn.log.info({ code, subscriptions: conn.subscriptionCount }, 'websocket closed');
      void conn.dispose().catch((err: unknown) => conn.log.warn({ err }, 'websocket cleanup failed'));
    });
  }

  /** Closes every connection whose principal `which` picks, with `code` and `reason`; how many. */
  closeWhere(which: (principal: Principal) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const conn of this.#connections) {
      const principal = this.#principals.get(conn);
      if (principal && which(principal)) {
        conn.log.info({ code, reason }, 'websocket closed by the gateway');
        conn.close(code, reason);
        closed++;
      }
    }
    return closed;
  }

  /**
   * Ends every event stream whose principal `which` picks with `event: close` (`reason`), as
   * `closeWhere` closes WebSockets; how many.
   */
  endStreamsWhere(which: (principal: Principal) => boolean, reason: Parameters<OpenStream['revoke']>[0], message: string): number {
    let ended = 0;
    for (const [stream, principal] of this.#streams) {
      if (!which(principal)) continue;
      this.#streams.delete(stream);
      stream.revoke(reason, message);
      ended++;
    }
    return ended;
  }

  #heartbeat(): void {
    for (const conn of this.#connections) conn.heartbeat();
  }

  /**
   * app.close(): every connection gets 1001, every event stream `event: close` (`shutting_down`),
   * and their consumers are deleted before NATS drains.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#pinger);
    clearInterval(this.#streamBeat);
    const conns = [...this.#connections];
    this.#connections.clear();
    for (const c of conns) c.close(CLOSE_CODES.GOING_AWAY.code, 'gateway shutting down');
    const streams = [...this.#streams.keys()];
    this.#streams.clear();
    await Promise.all([
      ...conns.map((c) => c.dispose().catch(() => undefined)),
      ...streams.map((s) => s.shutdown().catch(() => undefined)),
    ]);
  }
}

/** The former name, kept for branches that still import it. */
export { WebSocketRegistry as WsSubscriptions };
