// POST /v1/events at a fixed rate (not as fast as possible): the end-to-end and slow-consumer
// scenarios need a steady, known load. Keep-alive connections, a bounded number of requests in
// flight, bounded in count and time; the time each request started is reported per event id.
import { connect, type Socket } from 'node:net';
import { envelopeJson } from './payload.ts';

/** How a fixed-rate flow is paced: the same for POSTs and for direct publishes. */
export interface PaceOptions {
  perSecond: number;
  durationMs: number;
  /** Operations in flight at most; past it the sender falls behind rather than piling up. */
  maxInFlight?: number;
  /** Called as each operation starts. */
  onSend?: (id: string, sentAt: number) => void;
  /** Ids are `<idPrefix>_<n>`. */
  idPrefix: string;
}

export interface PaceResult {
  sent: number;
  accepted: number;
  failed: number;
  /** Milliseconds from the start of each accepted operation to its success. */
  latencies: number[];
  seconds: number;
}

/**
 * Starts `send(id)` at `perSecond` (checked every millisecond, so at 1,000/s one at a time) until `perSecond × durationMs` were sent
 * and all have settled; `send` resolves when the operation succeeded, rejects when it failed.
 * Bounded in count, and in time: it gives up 15 s past the duration.
 */
export async function atRate(opts: PaceOptions, send: (id: string) => Promise<unknown>): Promise<PaceResult> {
  const total = Math.round((opts.perSecond * opts.durationMs) / 1000);
  const maxInFlight = opts.maxInFlight ?? 64;
  const result: PaceResult = { sent: 0, accepted: 0, failed: 0, latencies: [], seconds: 0 };
  let inFlight = 0;
  const start = performance.now();
  const hardStop = start + opts.durationMs + 15_000;
  const begin = (id: string) => {
    const t0 = performance.now();
    opts.onSend?.(id, t0);
    inFlight++;
    send(id).then(
      () => {
        inFlight--;
        result.accepted++;
        result.latencies.push(performance.now() - t0);
      },
      () => {
        inFlight--;
        result.failed++;
      },
    );
  };
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.perSecond));
      while (result.sent < due && inFlight < maxInFlight) begin(`${opts.idPrefix}_${result.sent++}`);
      if ((result.sent >= total && inFlight === 0) || now > hardStop) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

export interface RateOptions extends PaceOptions {
  url: string;
  key: string;
}

/**
 * The leanest HTTP/1.1 client that does the job: keep-alive sockets from node:net, one request in
 * flight on each, the request written as one string, the answer read up to its status and
 * Content-Length. node:http's client spends ~100 µs of the load generator's CPU per request on
 * request objects, header validation and its agent; a latency measure should time the server, not
 * that (the direct side's nats.js client is lean too). Answers must carry a Content-Length
 * (every answer of the gateway and of the reference servers has one); one without it fails its request.
 */
export class KeepAliveClient {
  readonly #host: string;
  readonly #port: number;
  readonly #idle: ClientConnection[] = [];
  readonly #all = new Set<ClientConnection>();

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.#host = hostname;
    this.#port = Number(port);
  }

  /** Sends `head` (request line and headers, each ending CRLF, without Content-Length) and `body`; resolves with the status. */
  async request(head: string, body: string, timeoutMs = 10_000): Promise<number> {
    const conn = this.#idle.pop() ?? (await this.#open());
    return conn.send(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, timeoutMs).finally(() => {
      if (conn.usable) this.#idle.push(conn);
      else this.#all.delete(conn);
    });
  }

  async #open(): Promise<ClientConnection> {
    const socket = connect(this.#port, this.#host);
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = new ClientConnection(socket);
    this.#all.add(conn);
    return conn;
  }

  close(): void {
    for (const c of this.#all) c.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }
}

class ClientConnection {
  readonly socket: Socket;
  usable = true;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (status: number) => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    const fail = (err: Error) => {
      this.usable = false;
      this.#settle(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(request: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.usable = false;
        this.socket.destroy();
        this.#settle(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = { resolve, reject, timer };
      this.socket.write(request);
    });
  }

  #settle(result: number | Error): void {
    const w = this.#waiting;
    if (!w) return;
    this.#waiting = undefined;
    clearTimeout(w.timer);
    if (typeof result === 'number') w.resolve(result);
    else w.reject(result);
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
    if (!head.startsWith('HTTP/1.1 ') || Number.isNaN(length)) {
      // Not an answer this client can frame (chunked, or not HTTP/1.1): fail loudly rather than
      // read the rest of it as the next answer.
      this.usable = false;
      this.socket.destroy();
      this.#settle(new Error(`unframed answer: ${JSON.stringify(head.slice(0, 80))}`));
      return;
    }
    if (this.#buffer.length < end + 4 + length) return;
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    if (/\r\nconnection: *close/i.test(head)) this.usable = false;
    this.#settle(Number(head.slice(9, 12)));
  }
}

/** POST /v1/events at a fixed rate over keep-alive connections (KeepAliveClient); `latencies` are POST → 202. */
export async function publishAtRate(opts: RateOptions): Promise<PaceResult> {
  const client = new KeepAliveClient(opts.url);
  const { host } = new URL(opts.url);
  const head = `POST /v1/events HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${opts.key}\r\n`;
  const post = async (id: string) => {
    const status = await client.request(head, envelopeJson(id));
    if (status !== 202) throw new Error(`status ${status}`);
  };
  try {
    return await atRate(opts, post);
  } finally {
    client.close();
  }
}
