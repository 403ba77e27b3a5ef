// The Server-Sent Events sink: each event becomes one `id:` / `event:` / `data:` record on a
// long-lived `text/event-stream` response, built around the stored JSON (never re-encoded). The
// response is the receiver's only buffer, judged by the same high-water mark as a WebSocket
// (WS_SEND_BUFFER_BYTES): over it the sink is not `ready`, so a replay pauses until 'drain', and the
// live feed calls `slow()`, which ends the stream (`event: close`, reason `slow_consumer`), exactly
// the WebSocket sink's policy (close 4010). `SseStream` is one such response with its delivery: the
// heartbeat comment, the stall check and shutdown (the connection registry drives both).
import type { ServerResponse } from 'node:http';
import type { StreamClose } from '../../../schemas/sse.ts';
import { toCloudEvent } from '../../cloudevents.ts';
import type { GatewayError } from '../../errors.ts';
import type { Delivery, DeliveryLog, EventRef, Sink } from '../engine.ts';

/** How long an ended stream's reader may take to read what was queued before the socket is cut. */
const END_GRACE_MS = 5000;

/** One event as a Server-Sent Events record; a JSON with raw line breaks (never stored so) gets one `data:` line each. */
export function sseRecord(seq: number, type: string, json: string): string {
  const data = json.includes('\n') || json.includes('\r') ? json.split(/\r\n|\r|\n/).join('\ndata: ') : json;
  return `id: ${seq}\nevent: ${type}\ndata: ${data}\n\n`;
}

/** The type of an event: the live feed has it from the subject; a replayed one is parsed. */
function typeOf(event: EventRef): string {
  const known = (event as { type?: unknown }).type;
  return typeof known === 'string' ? known : event.envelope.type;
}

export class SseSink implements Sink {
  readonly metricsName = 'sse';
  readonly #res: ServerResponse;
  /** `format=cloudevents`: each `data:` is a structured-mode CloudEvent (src/cloudevents.ts). */
  readonly #cloudEvents: boolean;
  readonly #highWaterMark: number;
  readonly #log: DeliveryLog;
  #ended = false;
  #lastId: number | undefined;
  /** Writes the socket has taken (one counter for every write: no closure per event). */
  #flushes = 0;
  readonly #onFlushed = () => {
    this.#flushes++;
  };
  #flushesAtBeat = 0;
  #pendingAtBeat = 0;
  #corked = false;
  readonly #uncork = () => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#res.socket?.uncork();
  };

  constructor(res: ServerResponse, opts: { highWaterMark: number; log: DeliveryLog; cloudEvents?: boolean }) {
    this.#cloudEvents = opts.cloudEvents === true;
    this.#res = res;
    this.#highWaterMark = opts.highWaterMark;
    this.#log = opts.log;
    res.once('close', () => {
      this.#ended = true;
    });
  }

  /** The last event id written. */
  get lastId(): number | undefined {
    return this.#lastId;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get ready(): boolean {
    if (this.#ended) return false;
    if (this.#res.writableLength <= this.#highWaterMark) return true;
    // Corked records are not behind the reader: send them before judging.
    this.#uncork();
    return this.#res.writableLength <= this.#highWaterMark;
  }

  /**
   * Records written in one turn (a batch from the live feed or a replay) leave in one writev
   * instead of one system call each, which otherwise dominates the cost of fan-out (as on a
   * WebSocket connection).
   */
  #cork(): void {
    if (this.#corked) return;
    const socket = this.#res.socket;
    if (!socket) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(this.#uncork);
  }

  async waitReady(): Promise<boolean> {
    // 'drain' comes once the response's buffer emptied (it is far over Node's own mark here).
    for (let rounds = 0; rounds < 1_000_000 && !this.#ended && !this.ready; rounds++) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#res.off('drain', done);
          this.#res.off('close', done);
          resolve();
        };
        this.#res.once('drain', done);
        this.#res.once('close', done);
      });
    }
    return !this.#ended;
  }

  write(event: EventRef, _delivery: number, written?: (err?: Error) => void): void {
    if (this.#ended) {
      written?.(new Error('stream closed'));
      return;
    }
    this.#lastId = event.seq;
    const record = sseRecord(event.seq, typeOf(event), this.#cloudEvents ? JSON.stringify(toCloudEvent(event.envelope)) : event.json);
    this.#cork();
    this.#res.write(
      record,
      written === undefined
        ? this.#onFlushed
        : (err) => {
            this.#flushes++;
            written(err ?? undefined);
          },
    );
  }

  slow(): void {
    this.end('slow_consumer', 'slow consumer: more than WS_SEND_BUFFER_BYTES queued; reconnect with Last-Event-ID to resume');
  }

  fail(err: GatewayError): void {
    if (err.statusCode >= 500) this.#log.warn({ code: err.code, err: err.cause ?? err }, 'event stream failed');
    this.end('error', err.message, err.code);
  }

  /**
   * Called every SSE_HEARTBEAT_INTERVAL: a `: hb` comment when nothing is queued; a stream whose
   * socket took no write for a whole interval while bytes were queued is a reader that stopped
   * reading (the WebSocket's unanswered ping), ended as a slow consumer.
   */
  heartbeat(): void {
    if (this.#ended) return;
    const pending = this.#res.writableLength;
    if (pending > 0 && this.#pendingAtBeat > 0 && this.#flushes === this.#flushesAtBeat) {
      this.end('slow_consumer', 'slow consumer: events unread for a whole SSE_HEARTBEAT_INTERVAL');
      return;
    }
    this.#pendingAtBeat = pending;
    this.#flushesAtBeat = this.#flushes;
    if (pending === 0) this.#res.write(': hb\n\n', this.#onFlushed);
  }

  /**
   * Ends the stream with an `event: close` record saying why. A reader that does not read what is
   * still queued within END_GRACE_MS is cut off.
   */
  end(reason: StreamClose['reason'], message: string, code?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const close: StreamClose = { reason, message };
    if (code !== undefined) close.code = code;
    if (this.#lastId !== undefined) close.last_id = this.#lastId;
    if (reason !== 'shutting_down')
      this.#log.info({ reason, buffered: this.#res.writableLength, last_id: this.#lastId }, 'ending event stream');
    this.#uncork();
    this.#res.end(`event: close\ndata: ${JSON.stringify(close)}\n\n`);
    const res = this.#res;
    setTimeout(() => {
      if (!res.destroyed) res.destroy();
    }, END_GRACE_MS).unref();
  }
}

/** One open stream: its response's sink and the delivery feeding it. */
export class SseStream {
  readonly sink: SseSink;
  /** Resolves once the response closed and the delivery stopped. */
  readonly closed: Promise<void>;
  readonly #delivery: Delivery;
  #stopping: Promise<void> | undefined;

  constructor(res: ServerResponse, sink: SseSink, delivery: Delivery) {
    this.sink = sink;
    this.#delivery = delivery;
    this.closed = new Promise<void>((resolve) => {
      const stop = () => {
        this.#stop().then(resolve, resolve);
      };
      if (res.destroyed || res.closed) stop();
      else res.once('close', stop);
    });
  }

  #stop(): Promise<void> {
    this.#stopping ??= this.#delivery.stop();
    return this.#stopping;
  }

  heartbeat(): void {
    this.sink.heartbeat();
  }

  /**
   * Its principal may read no more (the tenant was disabled, the key revoked or expired):
   * `event: close` with `reason`, and the delivery stops at once, whether or not the reader reads
   * the final record.
   */
  revoke(reason: 'tenant_disabled' | 'key_revoked', message: string): void {
    this.sink.end(reason, message);
    void this.#stop();
  }

  /** Gateway shutdown: `event: close` (`shutting_down`), then the delivery stops (its consumer is deleted). */
  async shutdown(): Promise<void> {
    this.sink.end('shutting_down', 'The gateway is shutting down; reconnect with Last-Event-ID');
    await this.#stop();
  }
}
