// WebSocket subscribers for the bench (GET /v1/ws, protocol in docs/websocket.md): connect with
// the bench key, subscribe, count event frames. Counting looks at the frame's first bytes only,
// so thousands of subscribers in this one process cost little; `onEvent` gets the raw frame when
// a scenario needs its content.
import WebSocket from 'ws';
import { closeMany, openMany } from './pool.ts';

export interface SubscribeOptions {
  types?: string[];
  ack?: 'auto' | 'client';
  onEvent?: (frame: Buffer, receivedAt: number) => void;
  timeoutMs?: number;
}

export interface Subscriber {
  readonly ws: WebSocket;
  /** Event frames received. */
  events: number;
  /** performance.now() of the latest event frame. */
  lastEventAt: number;
  /** Resolves with the close code once the connection is closed (by either side). */
  readonly closed: Promise<{ code: number; at: number }>;
  /** Stops reading from the socket: the gateway's writes pile up in kernel and gateway buffers. */
  stopReading(): void;
  resumeReading(): void;
  close(): void;
}

const EVENT_PREFIX = Buffer.from('{"op":"event"');

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/v1/ws`;
}

export function connectSubscriber(httpUrl: string, key: string, opts: SubscribeOptions = {}): Promise<Subscriber> {
  const ws = new WebSocket(wsUrl(httpUrl), { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.once('close', (code) => resolve({ code, at: performance.now() })),
  );
  const sub: Subscriber = {
    ws,
    events: 0,
    lastEventAt: 0,
    closed,
    // ws keeps its net.Socket private; pausing it is what a stuck client looks like to the gateway.
    stopReading: () => (ws as unknown as { _socket: { pause(): void } })._socket.pause(),
    resumeReading: () => (ws as unknown as { _socket: { resume(): void } })._socket.resume(),
    close: () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.close();
      reject(new Error('no "subscribed" frame in time'));
    }, opts.timeoutMs ?? 20_000);
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('open', () => {
      ws.send(JSON.stringify({ op: 'subscribe', sub: 's1', types: opts.types ?? ['*'], from: 'new', ack: opts.ack ?? 'auto' }));
    });
    ws.on('message', (data: Buffer) => {
      if (data.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX)) {
        const now = performance.now();
        sub.events++;
        sub.lastEventAt = now;
        opts.onEvent?.(data, now);
      } else if (data.includes('"op":"subscribed"')) {
        clearTimeout(timer);
        resolve(sub);
      } else if (data.includes('"op":"error"')) {
        clearTimeout(timer);
        sub.close();
        reject(new Error(`subscribe refused: ${data.toString()}`));
      }
    });
  });
}

/** Connects `count` subscribers, `parallel` at a time. */
export function connectMany(
  httpUrl: string,
  key: string,
  count: number,
  parallel = 50,
  /** Options of the `i`th subscriber. */
  options?: (i: number) => SubscribeOptions,
): Promise<Subscriber[]> {
  return openMany(count, (i) => connectSubscriber(httpUrl, key, options?.(i)), parallel);
}

export const closeAll = (subs: Subscriber[], timeoutMs = 10_000): Promise<void> => closeMany(subs, timeoutMs);
