// A plain live subscription (`from: "new"`, `ack: "auto"`, no group): a listener on the instance's
// live hub, costing no JetStream consumer. Delivery is at-most-once by nature (core NATS); clients
// that must not miss events use `ack: "client"` or resume with `from: {seq}`. A client that cannot
// keep up is disconnected (4010) rather than buffered without bound.
import type { SubscribedFrame } from '../../schemas/websocket.ts';
import type { LiveEvent, LiveFeed, LiveListener } from '../bus/index.ts';
import { autoAckOnly, type DeliveryTarget, eventFrame, type SubscriptionSpec, type WsSubscription } from './subscription.ts';

export class LiveSubscription implements WsSubscription, LiveListener {
  readonly id: string;
  readonly tenant: string;
  readonly #spec: SubscriptionSpec;
  readonly #target: DeliveryTarget;
  readonly #hub: LiveFeed;
  #state: 'new' | 'watching' | 'running' | 'stopped' = 'new';

  constructor(spec: SubscriptionSpec, target: DeliveryTarget, hub: LiveFeed) {
    this.id = spec.id;
    this.tenant = target.tenant;
    this.#spec = spec;
    this.#target = target;
    this.#hub = hub;
  }

  matches(type: string): boolean {
    return this.#spec.matches(type);
  }

  onEvent(event: LiveEvent): void {
    if (this.#spec.filter && !this.#spec.filter.match(event.envelope)) return;
    if (!this.#target.keepingUp) {
      this.#target.closeSlow();
      return;
    }
    this.#target.sendRaw(eventFrame(this.id, event.seq, 1, event.json));
  }

  async prepare(): Promise<SubscribedFrame> {
    // Once this resolves the tenant's feed is subscribed: nothing stored after `subscribed` is missed.
    this.#state = 'watching';
    await this.#hub.watch(this.tenant);
    return { op: 'subscribed', sub: this.id, ack: 'auto', start: 'new', truncated: false };
  }

  run(): void {
    if (this.#state !== 'watching') return;
    this.#state = 'running';
    this.#hub.add(this);
  }

  ack(): void {
    throw autoAckOnly();
  }

  nak(): void {
    throw autoAckOnly();
  }

  async stop(): Promise<void> {
    if (this.#state === 'watching') this.#hub.release(this.tenant);
    else if (this.#state === 'running') this.#hub.remove(this);
    this.#state = 'stopped';
  }
}
