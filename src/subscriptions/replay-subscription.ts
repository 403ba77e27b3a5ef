// A replaying auto-ack subscription (`from` other than "new", no group): an ordered consumer reads
// the history and then simply stays on, so the switch from history to live has no gap and no
// duplicate by construction (the ordered consumer tracks the stream sequence and recreates itself
// after any gap or reconnect). We chose this over handing over to the live hub: the hand-over
// needs buffering live events while catching up and a seq cut-over, which is easy to get subtly
// wrong; the price is one memory-stored, unacknowledged consumer per replaying subscription, which
// the gateway deletes when the subscription ends (and which expires on its own if we crash).
// A slow reader pauses the consumer instead of being disconnected.
import type { Consumer, ConsumerMessages } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { SubscribedFrame } from '../../schemas/websocket.ts';
import type { EventBus } from '../bus/event-bus.ts';
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
  readonly #bus: EventBus;
  readonly #log: Logger;
  #consumer: Consumer | undefined;
  #messages: ConsumerMessages | undefined;
  #stopped = false;

  constructor(spec: SubscriptionSpec, target: DeliveryTarget, bus: EventBus, log: Logger) {
    this.id = spec.id;
    this.#spec = spec;
    this.#target = target;
    this.#bus = bus;
    this.#log = log;
  }

  async prepare(): Promise<SubscribedFrame> {
    const stream = this.#bus.config.STREAM_NAME;
    try {
      const start = startPoint(this.#spec.frame.from, await this.#bus.jsm.streams.info(stream));
      this.#consumer = await this.#bus.js.consumers.get(stream, {
        name_prefix: `gw_ws_${this.#target.tenant}_${nuid.next()}`,
        filter_subjects: this.#spec.patterns.subjects,
        ...start.deliver,
      });
      const frame: SubscribedFrame = { op: 'subscribed', sub: this.id, ack: 'auto', start: 'position', truncated: start.truncated };
      if (start.start_seq !== undefined) frame.start_seq = start.start_seq;
      return frame;
    } catch (err) {
      throw this.#bus.translate(err);
    }
  }

  run(): void {
    void this.#deliver().catch((err: unknown) => {
      if (this.#stopped) return;
      this.#log.warn({ err }, 'replay subscription failed');
      this.#target.fail(this.id, this.#bus.translate(err));
    });
  }

  async #deliver(): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || this.#stopped) return;
    this.#messages = await consumer.consume({ max_messages: READ_AHEAD });
    for await (const m of this.#messages) {
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
    this.#messages?.stop();
    await this.#consumer?.delete().catch(() => undefined);
  }
}
