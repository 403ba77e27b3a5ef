// The WebSocket test client every WebSocket test uses: connects (or reports the refused upgrade),
// collects every frame, and awaits conditions with a deadline (the next frame matching a predicate,
// N events of a subscription, the close code); plus `publish`, which stores a catalogue example event.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { BUILTIN_CATALOGUE } from '../../schemas/catalogue.ts';
import { auth } from './gateway.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export type Frame = Record<string, unknown> & { op: string };

export interface Refusal {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
  /** Every response header (lower-case names). */
  headers: IncomingMessage['headers'];
}

export class WsClient {
  readonly socket: WebSocket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const w of this.#waiters) w();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        for (const w of this.#waiters) w();
        resolve({ code, reason: String(reason) });
      });
    });
  }

  /** Opens `ws://…/v1/ws` (`httpUrl` is the gateway's http:// URL). */
  static async connect(t: Teardown, httpUrl: string, opts: { key?: string; ticket?: string; socket?: WebSocket.ClientOptions } = {}) {
    const url = `${httpUrl.replace(/^http/, 'ws')}/v1/ws${opts.ticket === undefined ? '' : `?ticket=${encodeURIComponent(opts.ticket)}`}`;
    const socket = new WebSocket(url, { headers: opts.key ? { authorization: `Bearer ${opts.key}` } : {}, ...opts.socket });
    const client = new WsClient(socket);
    t.teardown(() => client.terminate());
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res: IncomingMessage) => {
        reject(new Error(`upgrade refused: ${res.statusCode}`));
        res.resume();
      });
    });
    return client;
  }

  /** The answer to an upgrade the gateway refuses (status and problem body); throws if it upgrades. */
  static async refusal(httpUrl: string, opts: { key?: string; ticket?: string } = {}): Promise<Refusal> {
    const url = `${httpUrl.replace(/^http/, 'ws')}/v1/ws${opts.ticket === undefined ? '' : `?ticket=${encodeURIComponent(opts.ticket)}`}`;
    const socket = new WebSocket(url, { headers: opts.key ? { authorization: `Bearer ${opts.key}` } : {} });
    return new Promise<Refusal>((resolve, reject) => {
      socket.once('open', () => {
        socket.terminate();
        reject(new Error('the upgrade was accepted'));
      });
      socket.once('error', () => undefined);
      socket.once('unexpected-response', (_req, res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: JSON.parse(text || '{}'),
            headers: res.headers,
          });
          socket.terminate();
        });
      });
    });
  }

  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends `subscribe` and waits for its `subscribed` (or throws with the error frame). */
  async subscribe(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    this.send({ op: 'subscribe', ...frame });
    const answer = await this.next((f) => (f.op === 'subscribed' || f.op === 'error') && f.sub === frame.sub, timeoutMs);
    if (answer.op === 'error') throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
    return answer;
  }

  /**
   * The next not-yet-consumed frame matching `match`, waiting up to `timeoutMs`; the timeout message
   * names `what` (default: the predicate's source) and the last frames received.
   */
  async next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000, what = match.toString()): Promise<Frame> {
    const found = await this.#find(match, timeoutMs);
    if (!found) {
      const state = this.socket.readyState === WebSocket.CLOSED ? ' (the socket is closed)' : '';
      throw new Error(`no frame matching ${what} within ${timeoutMs} ms${state}; unconsumed: ${JSON.stringify(this.frames.slice(-5))}`);
    }
    return found;
  }

  /** `count` event frames of `sub`, in order, all within `timeoutMs` (one deadline for all of them). */
  async events(sub: string, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    const out: Frame[] = [];
    while (out.length < count) {
      const left = Math.max(1, deadline - Date.now());
      out.push(await this.next((f) => f.op === 'event' && f.sub === sub, left, `event ${out.length + 1} of ${count} of "${sub}"`));
    }
    return out;
  }

  /**
   * True when no frame matching `match` arrives within `ms`: the explicit window of a test that
   * proves something does NOT happen (keep it as short as the claim allows).
   */
  async quiet(match: (f: Frame) => boolean, ms: number): Promise<boolean> {
    return (await this.#find(match, ms)) === undefined;
  }

  /** The close code and reason once the gateway closed the connection, waiting up to `timeoutMs`. */
  async closedWithin(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the connection was not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #find(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.frames.length; i++) {
        const f = this.frames[i] as Frame;
        if (match(f)) {
          // Consumed: later searches skip it (and everything before it that nobody asked for stays).
          this.frames.splice(i, 1);
          return f;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
    this.terminate();
  }

  terminate(): void {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
  }
}

let counter = 0;

/** Publishes one event of `type` (its catalogue example data) and returns `{id, seq}`. */
export async function publish(
  app: FastifyInstance,
  key: string,
  type = 'order.created',
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; seq: number; duplicate: boolean }> {
  const payload = { id: `evt_t${process.pid}_${++counter}`, type, source: 'ws-test', data: BUILTIN_CATALOGUE[type]?.example, ...overrides };
  const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth(key), payload });
  if (res.statusCode !== 202) throw new Error(`publish failed: ${res.statusCode} ${res.body}`);
  return res.json();
}
