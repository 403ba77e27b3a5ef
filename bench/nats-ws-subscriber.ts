// The peer of the gateway's WebSocket fan-out: nats-server's own WebSocket listener (a
// `websocket {}` block) with a minimal client that speaks the NATS protocol over a WebSocket,
// subscribes to the same live subjects the gateway's feed reads, and counts the messages. It is as
// little as a browser talking to NATS directly would do: no envelope parsing, no acks.
import WebSocket from 'ws';
import { closeMany, openMany } from './pool.ts';

export interface PeerSubscriber {
  readonly ws: WebSocket;
  /** Messages (MSG or HMSG) received. */
  events: number;
  /** performance.now() of the latest message. */
  lastEventAt: number;
  close(): void;
  readonly closed: Promise<void>;
}

const CRLF = Buffer.from('\r\n');

/**
 * Connects to nats-server's WebSocket listener, subscribes to `subject` and resolves once the server
 * confirmed it (PONG after SUB). `onEvent` gets each message's payload (for latency by event id).
 */
export function connectPeer(
  wsUrl: string,
  subject: string,
  onEvent?: (payload: Buffer, receivedAt: number) => void,
  timeoutMs = 20_000,
): Promise<PeerSubscriber> {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const sub: PeerSubscriber = {
    ws,
    events: 0,
    lastEventAt: 0,
    closed,
    close: () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
  let pending: Buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const timer = setTimeout(() => {
      sub.close();
      reject(new Error('nats-server did not confirm the WebSocket subscription in time'));
    }, timeoutMs);
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      let at = 0;
      // Operations: INFO, +OK, PING, PONG, -ERR (one line), MSG/HMSG (a line, then a payload).
      for (let guard = 0; guard < 1_000_000; guard++) {
        const eol = pending.indexOf(CRLF, at);
        if (eol < 0) break;
        const c0 = pending[at];
        if (c0 === 0x4d /* M */ || c0 === 0x48 /* H */) {
          const line = pending.toString('latin1', at, eol).split(' ');
          const total = Number(line[line.length - 1]);
          const headerBytes = c0 === 0x48 ? Number(line[line.length - 2]) : 0;
          const end = eol + 2 + total + 2;
          if (end > pending.length) break; // the rest of the payload is in a later frame
          sub.events++;
          sub.lastEventAt = now;
          onEvent?.(pending.subarray(eol + 2 + headerBytes, eol + 2 + total), now);
          at = end;
          continue;
        }
        if (c0 === 0x50 /* P */ && pending[at + 1] === 0x49 /* PING */) ws.send('PONG\r\n');
        else if (c0 === 0x50 && pending[at + 1] === 0x4f /* PONG */ && !subscribed) {
          subscribed = true;
          clearTimeout(timer);
          resolve(sub);
        } else if (c0 === 0x2d /* -ERR */) {
          clearTimeout(timer);
          reject(new Error(pending.toString('latin1', at, eol)));
        }
        at = eol + 2;
      }
      pending = at >= pending.length ? Buffer.alloc(0) : pending.subarray(at);
    });
    ws.once('open', () => {
      const connect = { verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, name: 'bench-peer' };
      ws.send(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${subject} 1\r\nPING\r\n`);
    });
  });
}

/** Connects `count` peers, `parallel` at a time. */
export function connectPeers(
  wsUrl: string,
  subject: string,
  count: number,
  onEvent?: (i: number) => ((payload: Buffer, at: number) => void) | undefined,
  parallel = 50,
): Promise<PeerSubscriber[]> {
  return openMany(count, (i) => connectPeer(wsUrl, subject, onEvent?.(i)), parallel);
}

export const closePeers = (subs: PeerSubscriber[], timeoutMs = 10_000): Promise<void> => closeMany(subs, timeoutMs);
