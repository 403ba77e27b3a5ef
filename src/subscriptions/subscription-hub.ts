// The live feed of one gateway instance: ONE core NATS subscription on the stream's republish
// subjects (`<prefix>_live.>`), fanned out in-process to every matching live subscription. The
// stream republishes only events it stored, so a publish retried with the same id (deduplicated
// by JetStream) reaches live subscribers once, and each carries its stream sequence
// (`Nats-Sequence`). Live subscriptions therefore cost no JetStream consumer at all.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface LiveEvent {
  seq: number;
  type: string;
  /** The stored envelope as JSON, exactly as published. */
  json: string;
}

export interface LiveListener {
  readonly tenant: string;
  matches(type: string): boolean;
  onEvent(event: LiveEvent): void;
}

export function liveSubjectPrefix(prefix: string): string {
  return `${prefix}_live`;
}

export class SubscriptionHub {
  readonly #byTenant = new Map<string, Set<LiveListener>>();
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #log: Logger;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, prefix: string, log: Logger) {
    this.#nc = nc;
    this.#prefix = liveSubjectPrefix(prefix);
    this.#log = log;
  }

  /** Resolves once the server has the subscription, so no event stored after this is missed. */
  async start(): Promise<void> {
    this.#sub = this.#nc.subscribe(`${this.#prefix}.>`, {
      callback: (err, msg) => {
        if (err) this.#log.warn({ err }, 'live feed subscription failed');
        else this.#dispatch(msg);
      },
    });
    await this.#nc.flush();
  }

  #dispatch(msg: Msg): void {
    // <prefix>_live.<tenant>.<domain>.<action>.<correlation_id>
    const parts = msg.subject.split('.');
    if (parts.length !== 5) return;
    const listeners = this.#byTenant.get(parts[1] as string);
    if (!listeners || listeners.size === 0) return;
    const seq = Number(msg.headers?.get('Nats-Sequence'));
    if (!Number.isSafeInteger(seq) || seq < 1) return;
    const type = `${parts[2]}.${parts[3]}`;
    let event: LiveEvent | undefined;
    for (const l of listeners) {
      if (!l.matches(type)) continue;
      event ??= { seq, type, json: msg.string() };
      l.onEvent(event);
    }
  }

  add(listener: LiveListener): void {
    let set = this.#byTenant.get(listener.tenant);
    if (!set) {
      set = new Set();
      this.#byTenant.set(listener.tenant, set);
    }
    set.add(listener);
  }

  remove(listener: LiveListener): void {
    const set = this.#byTenant.get(listener.tenant);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) this.#byTenant.delete(listener.tenant);
  }

  /** Live subscriptions across all connections of this instance. */
  get size(): number {
    let n = 0;
    for (const set of this.#byTenant.values()) n += set.size;
    return n;
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }
}
