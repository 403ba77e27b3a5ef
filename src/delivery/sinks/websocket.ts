// The WebSocket sink: each event becomes one `event` frame on the subscriber's connection, built
// around the stored JSON (never re-encoded: one string per event). The connection
// (src/websocket/connection.ts) owns the socket, its bounded buffering and corking; the sink only
// asks it whether the client keeps up.
import type { EventFormat } from '../../../schemas/cloudevents.ts';
import { toCloudEvent } from '../../cloudevents.ts';
import type { GatewayError } from '../../errors.ts';
import type { EventRef, Sink } from '../engine.ts';

/** What the sink needs of a WebSocket connection. */
export interface WebSocketTarget {
  /** Queues a text frame; `onWritten` runs once it was handed to the OS. */
  sendRaw(frame: string, onWritten?: (err?: Error) => void): void;
  /** True while the client reads fast enough (queued bytes under WS_SEND_BUFFER_BYTES). */
  readonly keepingUp: boolean;
  /** Resolves true once the client caught up, false if the connection closed meanwhile. */
  caughtUp(): Promise<boolean>;
  /** Closes the connection because a live subscriber fell behind (4010). */
  closeSlow(): void;
  /** Tells the client a subscription failed after it started. */
  fail(sub: string, err: GatewayError): void;
}

/** An `event` frame around the stored envelope's JSON. */
export function eventFrame(sub: string, seq: number, delivery: number, eventJson: string): string {
  return `{"op":"event","sub":${JSON.stringify(sub)},"seq":${seq},"delivery":${delivery},"event":${eventJson}}`;
}

export class WebSocketSink implements Sink {
  readonly #sub: string;
  readonly #target: WebSocketTarget;
  readonly #cloudEvents: boolean;

  constructor(sub: string, target: WebSocketTarget, format: EventFormat = 'envelope') {
    this.#sub = sub;
    this.#target = target;
    this.#cloudEvents = format === 'cloudevents';
  }

  get ready(): boolean {
    return this.#target.keepingUp;
  }

  waitReady(): Promise<boolean> {
    return this.#target.caughtUp();
  }

  write(event: EventRef, delivery: number, written?: (err?: Error) => void): void {
    // A CloudEvent is built from the parsed envelope; the envelope goes out as stored.
    const json = this.#cloudEvents ? JSON.stringify(toCloudEvent(event.envelope)) : event.json;
    this.#target.sendRaw(eventFrame(this.#sub, event.seq, delivery, json), written);
  }

  slow(): void {
    this.#target.closeSlow();
  }

  fail(err: GatewayError): void {
    this.#target.fail(this.#sub, err);
  }
}
