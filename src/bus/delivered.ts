// One delivery of a stored event by a JetStream consumer, as code outside the bus handles it: its
// position, how often it was delivered, the envelope's JSON, and the four acknowledgements. A
// nats.js `JsMsg` is one as it is (no wrapper on the WebSocket paths); the HTTP pull hands out
// PulledDelivery, which also carries an opaque handle that acks it from any gateway instance.

export interface Delivered {
  /** Stream sequence. */
  readonly seq: number;
  readonly info: { readonly deliveryCount: number };
  /** The stored envelope as JSON, exactly as published. */
  string(): string;
  ack(): void;
  /** Redeliver, after `delayMs` when given. */
  nak(delayMs?: number): void;
  /** Never deliver again. */
  term(reason?: string): void;
  /** Still being worked on: restarts the ack wait. */
  working(): void;
}

export interface PulledDelivery extends Delivered {
  /** Opaque: settles this delivery from any gateway instance (see Bus.settle). */
  readonly handle: string;
}
