// What every subscription kind shares: the contract the connection drives, the frame a delivered
// event becomes, and where delivery starts (for the `subscribed` frame).
import type { SubscribedFrame, SubscribeFrame } from '../../schemas/websocket.ts';
import type { StartFrom, StreamBounds } from '../bus/index.ts';
import type { ContentFilter } from '../content-filter.ts';
import { GatewayError } from '../errors.ts';

export interface WsSubscription {
  readonly id: string;
  /** Sets up server-side state (consumers); resolves to what the `subscribed` frame reports. */
  prepare(): Promise<SubscribedFrame>;
  /** Starts delivering; called once `subscribed` was sent. */
  run(): void;
  ack(seq: number): void;
  nak(seq: number, delayMs?: number): void;
  /** Stops delivery and removes server-side state; unacknowledged events go back at once. */
  stop(): Promise<void>;
}

/** What a subscription needs from its connection. */
export interface DeliveryTarget {
  readonly tenant: string;
  /** Queues a text frame; `onWritten` runs once it was handed to the OS. */
  sendRaw(frame: string, onWritten?: (err?: Error) => void): void;
  /** True while the client reads fast enough (queued bytes under WS_SEND_BUFFER_BYTES). */
  readonly keepingUp: boolean;
  /** Resolves true once the client caught up, false if the connection closed meanwhile. */
  caughtUp(): Promise<boolean>;
  /** Closes the connection because a live subscriber fell behind. */
  closeSlow(): void;
  /** Tells the client a subscription failed after it started. */
  fail(sub: string, err: GatewayError): void;
}

export interface SubscriptionSpec {
  id: string;
  frame: SubscribeFrame;
  /** The frame's type patterns, validated. */
  types: string[];
  /** Whether an event type matches them. */
  matches(type: string): boolean;
  filter: ContentFilter | undefined;
}

/** An `event` frame around the stored envelope's JSON, which is sent as published (not re-encoded). */
export function eventFrame(sub: string, seq: number, delivery: number, eventJson: string): string {
  return `{"op":"event","sub":${JSON.stringify(sub)},"seq":${seq},"delivery":${delivery},"event":${eventJson}}`;
}

/** True when the filter (if any) lets the event through. */
export function passes(filter: ContentFilter | undefined, eventJson: string): boolean {
  return filter === undefined || filter.match(JSON.parse(eventJson));
}

export function autoAckOnly(): GatewayError {
  return new GatewayError('GW_NOT_IN_FLIGHT', 'This subscription uses ack "auto": the gateway acknowledges its events');
}

export interface StartPoint {
  /** Where the consumer starts. */
  from: StartFrom;
  start_seq?: number;
  truncated: boolean;
}

/**
 * Resolves `from` against what the stream holds now: a start older than the oldest event held
 * starts at the oldest, and says so.
 */
export function startPoint(from: SubscribeFrame['from'], stream: StreamBounds | undefined): StartPoint {
  const first = stream?.firstSeq ?? 1;
  const last = stream?.lastSeq ?? 0;
  const oldest = Math.max(first, 1);
  if (from === undefined || from === 'new') return { from: 'new', start_seq: last + 1, truncated: false };
  if (from === 'all') return { from: 'all', start_seq: oldest, truncated: false };
  if ('seq' in from) {
    const seq = Math.max(from.seq, oldest);
    return { from: { seq }, start_seq: seq, truncated: from.seq < oldest && last > 0 };
  }
  const firstTs = stream?.firstTime ? Date.parse(stream.firstTime) : Number.NaN;
  const at = Date.parse(from.time);
  if (Number.isFinite(firstTs) && at < firstTs && last >= oldest) {
    return { from: { seq: oldest }, start_seq: oldest, truncated: true };
  }
  return { from: { time: new Date(at).toISOString() }, truncated: false };
}
