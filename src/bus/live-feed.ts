// The live feed of one gateway instance (the NATS side of live delivery). The stream republishes
// every event it STORED to `<prefix>_live.<tenant>.…` with its sequence (`Nats-Sequence`), so a
// publish retried with the same id (deduplicated by JetStream) reaches live subscribers once. The
// feed holds one core NATS subscription per tenant that has live listeners on this instance (none
// for the others, so an instance only receives the traffic its clients want) and fans each event
// out in-process to the matching listeners (src/delivery/engine.ts LiveDelivery), one LiveEvent
// shared by all of them. Live delivery therefore costs no JetStream consumer at all.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { EventEnvelope } from '../../schemas/envelope.ts';
import { liveTenantSubjects } from './subjects.ts';

export class LiveEvent {
  readonly seq: number;
  readonly type: string;
  /** The stored envelope's bytes, exactly as published (sinks copy them into frames as they are). */
  readonly bytes: Uint8Array;
  /** The subject it is stored under. */
  readonly subject: string | undefined;
  /** The publisher's W3C trace context, when it sent one. */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  #json: string | undefined;
  #envelope: EventEnvelope | undefined;

  constructor(seq: number, type: string, bytes: Uint8Array, carried?: { subject?: string; traceparent?: string; tracestate?: string }) {
    this.seq = seq;
    this.type = type;
    this.bytes = bytes;
    this.subject = carried?.subject;
    this.traceparent = carried?.traceparent || undefined;
    this.tracestate = carried?.tracestate || undefined;
  }

  /** The stored envelope as JSON, decoded once, when a sink or filter first asks. */
  get json(): string {
    this.#json ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('utf8');
    return this.#json;
  }

  /** Parsed once, however many subscriptions' filters look at it. */
  get envelope(): EventEnvelope {
    this.#envelope ??= JSON.parse(this.json) as EventEnvelope;
    return this.#envelope;
  }
}

export interface LiveListener {
  readonly tenant: string;
  matches(type: string): boolean;
  onEvent(event: LiveEvent): void;
}

interface TenantFeed {
  sub: Subscription;
  /** Resolves once the server has the subscription. */
  ready: Promise<void>;
  listeners: Set<LiveListener>;
  /** Subscriptions being set up (`watch`ed, not yet `add`ed); they keep the feed open too. */
  reserved: number;
}

export class LiveFeed {
  readonly #feeds = new Map<string, TenantFeed>();
  readonly #connection: { readonly nc: NatsConnection };
  readonly #prefix: string;
  readonly #log: Logger;
  #stopped = false;

  /** `connection.nc` is read when a feed opens (it throws GW_NOT_READY before NATS is connected). */
  constructor(connection: { readonly nc: NatsConnection }, prefix: string, log: Logger) {
    this.#connection = connection;
    this.#prefix = prefix;
    this.#log = log;
  }

  get #nc(): NatsConnection {
    return this.#connection.nc;
  }

  /**
   * Opens the tenant's feed (if needed) and resolves once NATS has the subscription, so every event
   * stored after this resolves is seen. Pair with `add` (or `release` if the subscription is abandoned).
   */
  async watch(tenant: string): Promise<void> {
    let feed = this.#feeds.get(tenant);
    if (!feed) {
      const sub = this.#nc.subscribe(liveTenantSubjects(this.#prefix, tenant), {
        callback: (err, msg) => {
          if (err) this.#log.warn({ err, tenant_id: tenant }, 'live feed subscription failed');
          else this.#dispatch(tenant, msg);
        },
      });
      const opened: TenantFeed = { sub, ready: Promise.resolve(), listeners: new Set(), reserved: 0 };
      opened.ready = this.#nc.flush().catch((err: unknown) => {
        // Not confirmed by the server: forget the feed, so the next subscriber tries afresh.
        if (this.#feeds.get(tenant) === opened) this.#feeds.delete(tenant);
        sub.unsubscribe();
        throw err;
      });
      feed = opened;
      this.#feeds.set(tenant, feed);
    }
    feed.reserved++;
    await feed.ready;
  }

  /** Starts delivering to a listener whose tenant was `watch`ed. */
  add(listener: LiveListener): void {
    const feed = this.#feeds.get(listener.tenant);
    if (!feed) throw new Error('LiveFeed.add without watch');
    feed.reserved--;
    feed.listeners.add(listener);
  }

  /** Gives up a `watch` that was never `add`ed. */
  release(tenant: string): void {
    const feed = this.#feeds.get(tenant);
    if (!feed) return;
    feed.reserved--;
    this.#closeIfUnused(tenant, feed);
  }

  remove(listener: LiveListener): void {
    const feed = this.#feeds.get(listener.tenant);
    if (!feed?.listeners.delete(listener)) return;
    this.#closeIfUnused(listener.tenant, feed);
  }

  #closeIfUnused(tenant: string, feed: TenantFeed): void {
    if (feed.listeners.size > 0 || feed.reserved > 0) return;
    this.#feeds.delete(tenant);
    if (!this.#stopped) feed.sub.unsubscribe();
  }

  #dispatch(tenant: string, msg: Msg): void {
    const feed = this.#feeds.get(tenant);
    if (!feed || feed.listeners.size === 0) return;
    // <prefix>_live.<tenant>.<domain>.<action>.<correlation_id>
    const parts = msg.subject.split('.');
    if (parts.length !== 5 || parts[1] !== tenant) return;
    const seq = Number(msg.headers?.get('Nats-Sequence'));
    if (!Number.isSafeInteger(seq) || seq < 1) return;
    const type = `${parts[2]}.${parts[3]}`;
    let event: LiveEvent | undefined;
    for (const l of feed.listeners) {
      if (!l.matches(type)) continue;
      event ??= new LiveEvent(seq, type, msg.data, {
        // The stream's republish keeps the stored message's headers, the trace context among them.
        subject: `${this.#prefix}${msg.subject.slice(msg.subject.indexOf('.'))}`,
        traceparent: msg.headers?.get('traceparent'),
        tracestate: msg.headers?.get('tracestate'),
      });
      l.onEvent(event);
    }
  }

  /** Live subscriptions across all connections of this instance. */
  get size(): number {
    let n = 0;
    for (const feed of this.#feeds.values()) n += feed.listeners.size;
    return n;
  }

  /** Tenants with an open feed on this instance. */
  get tenants(): number {
    return this.#feeds.size;
  }

  stop(): void {
    this.#stopped = true;
    for (const feed of this.#feeds.values()) feed.sub.unsubscribe();
    this.#feeds.clear();
  }
}
