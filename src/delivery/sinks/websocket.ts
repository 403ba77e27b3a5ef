// The WebSocket sink: each event becomes one `event` frame on the subscriber's connection, built
// around the stored JSON (never re-encoded). A live event fanned out to many subscriptions is framed
// once: the frame's bytes are shared by every subscription with the same `sub` id that the live
// feed hands the event to in a row (the common case: clients run the same code), so fan-out costs
// no string building, encoding or copying per subscriber. The connection
// (src/websocket/connection.ts) owns the socket, its bounded buffering and corking; the sink only
// asks it whether the client keeps up.
import type { EventFormat } from '../../../schemas/cloudevents.ts';
import { toCloudEvent } from '../../cloudevents.ts';
import type { GatewayError } from '../../errors.ts';
import type { EventRef, Sink } from '../engine.ts';

/** What the sink needs of a WebSocket connection. */
export interface WebSocketTarget {
  /** Queues a text frame (UTF-8 bytes, which the connection must not change); `onWritten` runs once it was handed to the OS. */
  sendRaw(frame: string | Buffer, onWritten?: (err?: Error) => void): void;
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
 * The head of an `event` frame, up to the stored envelope: with the publisher's trace context when
 * the event carries one (both are validated header values: no escaping needed beyond JSON.stringify).
 */
function frameHead(sub: string, seq: number, delivery: number, trace?: Pick<EventRef, 'traceparent' | 'tracestate'>): string {
  let tracing = '';
  if (trace?.traceparent) {
    tracing = `,"traceparent":${JSON.stringify(trace.traceparent)}`;
    if (trace.tracestate) tracing += `,"tracestate":${JSON.stringify(trace.tracestate)}`;
  }
  return `{"op":"event","sub":${JSON.stringify(sub)},"seq":${seq},"delivery":${delivery}${tracing},"event":`;
}

/** An `event` frame around the stored envelope's JSON. */
export function eventFrame(
  sub: string,
  seq: number,
  delivery: number,
  eventJson: string,
  trace?: Pick<EventRef, 'traceparent' | 'tracestate'>,
): string {
  return `${frameHead(sub, seq, delivery, trace)}${eventJson}}`;
}

const CLOSE = 0x7d; // }

/** The same frame as bytes, around the stored envelope's bytes. */
export function eventFrameBytes(sub: string, delivery: number, event: EventRef & { bytes: Uint8Array }): Buffer {
  const head = frameHead(sub, event.seq, delivery, event);
  const headBytes = Buffer.byteLength(head);
  const frame = Buffer.allocUnsafe(headBytes + event.bytes.byteLength + 1);
  frame.write(head, 0);
  frame.set(event.bytes, headBytes);
  frame[frame.length - 1] = CLOSE;
  return frame;
}

/**
 * The last frame built from an event with bytes, for the next subscription of the same fan-out:
 * one entry, so nothing is kept past the event being fanned out.
 */
let shared: { event: EventRef; sub: string; delivery: number; frame: Buffer } | undefined;

function frameOf(sub: string, event: EventRef, delivery: number): string | Buffer {
  if (!event.bytes) return eventFrame(sub, event.seq, delivery, event.json, event);
  if (shared && shared.event === event && shared.sub === sub && shared.delivery === delivery) return shared.frame;
  const frame = eventFrameBytes(sub, delivery, event as EventRef & { bytes: Uint8Array });
  shared = { event, sub, delivery, frame };
  return frame;
}

export class WebSocketSink implements Sink {
  readonly metricsName = 'websocket';
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
    // A CloudEvent is built from the parsed envelope (per subscription); the envelope goes out as
    // stored, its frame shared across the fan-out.
    if (this.#cloudEvents) {
      const json = JSON.stringify(toCloudEvent(event.envelope));
      this.#target.sendRaw(eventFrame(this.#sub, event.seq, delivery, json, event), written);
      return;
    }
    this.#target.sendRaw(frameOf(this.#sub, event, delivery), written);
  }

  slow(): void {
    this.#target.closeSlow();
  }

  fail(err: GatewayError): void {
    this.#target.fail(this.#sub, err);
  }
}
