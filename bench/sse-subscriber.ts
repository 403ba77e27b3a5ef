// Server-Sent Events subscribers for the bench (GET /v1/events/stream, docs/sse.md): open the
// stream with the bench key over node:http and count records. Counting looks for the `id: ` that
// starts each record (every event has one; heartbeats are comments), so thousands of subscribers in
// this one process cost little.
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { closeMany, openMany } from './pool.ts';

export interface SseSubscriber {
  /** Event records received. */
  events: number;
  /** performance.now() of the latest event record. */
  lastEventAt: number;
  /** Resolves once the stream is over (either side). */
  readonly closed: Promise<void>;
  close(): void;
}

const RECORD_START = '\nid: ';

export function connectSseSubscriber(
  httpUrl: string,
  key: string,
  opts: { types?: string; timeoutMs?: number } = {},
): Promise<SseSubscriber> {
  const url = new URL('/v1/events/stream', httpUrl);
  if (opts.types) url.searchParams.set('types', opts.types);
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    let res: IncomingMessage | undefined;
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => {
      closedResolve = r;
    });
    const sub: SseSubscriber = {
      events: 0,
      lastEventAt: 0,
      closed,
      close: () => {
        req?.destroy();
        res?.destroy();
      },
    };
    const timer = setTimeout(() => {
      sub.close();
      reject(new Error('no stream in time'));
    }, opts.timeoutMs ?? 20_000);
    req = request(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, agent: false }, (answer) => {
      res = answer;
      clearTimeout(timer);
      if (answer.statusCode !== 200) {
        answer.resume();
        reject(new Error(`stream refused: ${answer.statusCode}`));
        return;
      }
      answer.setEncoding('latin1');
      // The body starts a record at its first byte: count from a virtual newline before it.
      let tail = '\n';
      answer.on('data', (chunk: string) => {
        const text = tail + chunk;
        let found = 0;
        for (let at = text.indexOf(RECORD_START); at >= 0; at = text.indexOf(RECORD_START, at + RECORD_START.length)) found++;
        tail = text.slice(-(RECORD_START.length - 1));
        if (found > 0) {
          sub.events += found;
          sub.lastEventAt = performance.now();
        }
      });
      answer.once('close', closedResolve);
      resolve(sub);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      closedResolve();
      reject(err);
    });
    req.end();
  });
}

/** Opens `count` streams, `parallel` at a time. */
export function connectManySse(httpUrl: string, key: string, count: number, parallel = 50): Promise<SseSubscriber[]> {
  return openMany(count, () => connectSseSubscriber(httpUrl, key), parallel);
}

export const closeAllSse = (subs: SseSubscriber[], timeoutMs = 10_000): Promise<void> => closeMany(subs, timeoutMs);
