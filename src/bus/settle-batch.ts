// Acks and naks of deliveries, sent together: every one asked for during a turn of the event loop
// leaves at the end of that turn, so they cost one socket write to nats-server between them.
//
// nats.js sends what it was given in a microtask, so acks made by separate callbacks (one per
// webhook answer, per WebSocket ack frame) each cost a write of their own: measured on the webhook
// bench, the writes to nats-server were the largest single cost of a delivery. Acks are not
// awaited anyway (at least once: a lost ack is a redelivery), and a turn is well under the ack wait.

import type { Delivered } from './delivered.ts';

export type Settlement = 'ack' | 'nak';

interface Queued {
  msg: Delivered;
  op: Settlement;
  delayMs: number | undefined;
}

export class SettleBatch {
  #queue: Queued[] = [];
  #scheduled = false;

  /** Acks or naks `msg` at the end of this turn of the event loop, with the others of the turn. */
  add(msg: Delivered, op: Settlement, delayMs?: number): void {
    this.#queue.push({ msg, op, delayMs });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends what is queued now (the bus closing does, before it drains the connection). */
  readonly flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const { msg, op, delayMs } of queue) {
      try {
        if (op === 'ack') msg.ack();
        else msg.nak(delayMs);
      } catch {
        // The connection closed meanwhile: JetStream redelivers the event after its ack wait.
      }
    }
  };
}
