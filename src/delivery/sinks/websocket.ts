// The WebSocket sink: each event becomes one `event` frame on the subscriber's connection, built
// around the stored JSON (never re-encoded: one string per event). The connection
// (src/websocket/connection.ts) owns the socket, its bounded buffering and corking; the sink only
// asks it whether the client keeps up.
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

/**
 * An `event` frame around the stored envelope's JSON, with the publisher's trace context when the
 * event carries one (both are validated header values: no escaping needed beyond JSON.stringify).
 */
export function eventFrame(
  sub: string,
  seq: number,
  delivery: number,
  eventJson: string,
  trace?: Pick<EventRef, 'traceparent' | 'tracestate'>,
): string {
  let tracing = '';
  if (trace?.traceparent) {
    tracing = `,"traceparent":${JSON.stringify(trace.traceparent)}`;
    if (trace.tracestate) tracing += `,"tracestate":${JSON.stringify(trace.tracestate)}`;
  }
  return `{"op":"event","sub":${JSON.stringify(sub)},"seq":${seq},"delivery":${delivery}${tracing},"event":${eventJson}}`;
}

export class WebSocketSink implements Sink {
  readonly metricsName = 'websocket';
  readonly #sub: string;
  readonly #target: WebSocketTarget;

  constructor(sub: string, target: WebSocketTarget) {
    this.#sub = sub;
    this.#target = target;
  }

  get ready(): boolean {
    return this.#target.keepingUp;
  }

  waitReady(): Promise<boolean> {
    return this.#target.caughtUp();
  }

  write(event: EventRef, delivery: number, written?: (err?: Error) => void): void {
    this.#target.sendRaw(eventFrame(this.#sub, event.seq, delivery, event.json, event), written);
  }

  slow(): void {
    this.#target.closeSlow();
  }

  fail(err: GatewayError): void {
    this.#target.fail(this.#sub, err);
  }
}
