// A Server-Sent Events test client over node:http: opens GET /v1/events/stream, parses the stream as
// it arrives (records and comments), and resolves waits when a predicate over what arrived holds.
// A non-200 answer is read whole (the problem document). `pause()` stops reading (a slow reader).
import { type ClientRequest, type IncomingMessage, request } from 'node:http';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SseRecord {
  id?: string;
  event?: string;
  data: string;
}

export interface SseOpenOptions {
  key?: string;
  query?: Record<string, string | string[]>;
  lastEventId?: string;
  headers?: Record<string, string>;
}

export class SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly records: SseRecord[] = [];
  readonly comments: string[] = [];
  /** The body of a non-200 answer. */
  body = '';
  ended = false;
  readonly #req: ClientRequest;
  readonly #res: IncomingMessage;
  #buffer = '';
  #waiters: (() => void)[] = [];

  private constructor(req: ClientRequest, res: IncomingMessage) {
    this.#req = req;
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (this.status !== 200) this.body += chunk;
      else this.#parse(chunk);
      this.#wake();
    });
    const over = () => {
      this.ended = true;
      this.#wake();
    };
    res.on('end', over);
    res.on('close', over);
    res.on('error', over);
  }

  static open(t: Teardown, baseUrl: string, opts: SseOpenOptions = {}): Promise<SseClient> {
    const url = new URL('/v1/events/stream', baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one);
    const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
    return new Promise((resolve, reject) => {
      const req = request(url, { headers, agent: false }, (res) => {
        const client = new SseClient(req, res);
        t.teardown(() => client.close());
        resolve(client);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
      req.end();
    });
  }

  /** The events (records with an id), as parsed envelopes with their ids. */
  get events(): { id: number; event: string; envelope: Record<string, unknown> }[] {
    return this.records
      .filter((r) => r.id !== undefined)
      .map((r) => ({ id: Number(r.id), event: r.event ?? 'message', envelope: JSON.parse(r.data) as Record<string, unknown> }));
  }

  get problem(): Record<string, unknown> {
    return JSON.parse(this.body) as Record<string, unknown>;
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const end = this.#buffer.indexOf('\n\n');
      if (end < 0) return;
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const record: SseRecord = { data: '' };
      const data: string[] = [];
      let isRecord = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        isRecord = true;
        if (field === 'id') record.id = value;
        else if (field === 'event') record.event = value;
        else if (field === 'data') data.push(value);
      }
      if (isRecord) {
        record.data = data.join('\n');
        this.records.push(record);
      }
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `done(this)` holds; rejects after `timeoutMs`, or when the stream ended without it. */
  async until(what: string, done: (c: SseClient) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let rounds = 0; rounds < 100_000; rounds++) {
      if (done(this)) return;
      if (this.ended) throw new Error(`stream ended while waiting for ${what}; got ${this.records.length} records`);
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.records.length} records`);
  }

  /** Resolves once the server ended the stream. */
  async untilEnded(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let rounds = 0; rounds < 100_000 && !this.ended; rounds++) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the stream did not end within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops reading: the socket's receive buffer fills and the server's send buffer grows. */
  pause(): void {
    this.#res.pause();
    this.#res.socket?.pause();
  }

  resume(): void {
    this.#res.socket?.resume();
    this.#res.resume();
  }

  close(): void {
    this.#req.destroy();
    this.#res.destroy();
  }
}
