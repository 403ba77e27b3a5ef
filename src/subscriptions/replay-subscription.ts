// A replaying auto-ack subscription (`from` other than "new", no group): an ordered consumer reads
// the history and then simply stays on, so the switch from history to live has no gap and no
// duplicate by construction (the ordered consumer tracks the stream sequence and recreates itself
// after any gap or reconnect). We chose this over handing over to the live hub: the hand-over
// needs buffering live events while catching up and a seq cut-over, which is easy to get subtly
// wrong; the price is one memory-stored, unacknowledged consumer per replaying subscription, which
// the gateway deletes when the subscription ends (and which expires on its own if we crash).
// A slow reader pauses the consumer instead of being disconnected.
import type { Logger } from 'pino';
import type { SubscribedFrame } from '../../schemas/websocket.ts';
import type { Bus, OrderedSource } from '../bus/index.ts';
import {
  autoAckOnly,
  type DeliveryTarget,
  eventFrame,
  passes,
  type SubscriptionSpec,
  startPoint,
  type WsSubscription,
} from './subscription.ts';

/** Messages the ordered consumer may hold client-side while the socket is paused. */
const READ_AHEAD = 64;

export class ReplaySubscription implements WsSubscription {
  readonly id: string;
  readonly #spec: SubscriptionSpec;
  readonly #target: DeliveryTarget;
  readonly #bus: Bus;
  readonly #log: Logger;
  #source: OrderedSource | undefined;
  #stopped = false;

  constructor(spec: SubscriptionSpec, target: DeliveryTarget, bus: Bus, log: Logger) {
    this.id = spec.id;
    this.#spec = spec;
    this.#target = target;
    this.#bus = bus;
    this.#log = log;
  }

  async prepare(): Promise<SubscribedFrame> {
    const start = startPoint(this.#spec.frame.from, await this.#bus.streamBounds());
    this.#source = await this.#bus.openOrdered({ tenant: this.#target.tenant, types: this.#spec.types, from: start.from });
    const frame: SubscribedFrame = { op: 'subscribed', sub: this.id, ack: 'auto', start: 'position', truncated: start.truncated };
    if (start.start_seq !== undefined) frame.start_seq = start.start_seq;
    return frame;
  }

  run(): void {
    void this.#deliver().catch((err: unknown) => {
      if (this.#stopped) return;
      this.#log.warn({ err }, 'replay subscription failed');
      this.#target.fail(this.id, this.#bus.translate(err));
    });
  }

  async #deliver(): Promise<void> {
    const source = this.#source;
    if (!source || this.#stopped) return;
    for await (const m of await source.consume(READ_AHEAD)) {
      if (this.#stopped) break;
      const json = m.string();
      if (!passes(this.#spec.filter, json)) continue;
      if (!this.#target.keepingUp && !(await this.#target.caughtUp())) break;
      if (this.#stopped) break;
      this.#target.sendRaw(eventFrame(this.id, m.seq, 1, json));
    }
  }

  ack(): void {
    throw autoAckOnly();
  }

  nak(): void {
    throw autoAckOnly();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#source?.close();
  }
}
