// A real HTTP receiver of webhook deliveries on 127.0.0.1 (node:http, a random port): records
// every request and answers as the test says (status, headers, a delay, or holding the answer until
// released). Closed at teardown.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Received {
  /** 1-based, in arrival order. */
  n: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  id: string;
  /** The sender's TCP port (which process sent it: see the failover test). */
  remotePort: number;
  at: number;
  /** Answered at. */
  answeredAt?: number;
  /** The sender closed the connection before the answer (it died, or gave up). */
  abandoned?: boolean;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer after this long. */
  delayMs?: number;
  /** Answer only once `release()` is called. */
  hold?: boolean;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests being answered right now, and the most ever at once. */
  inFlight: number;
  maxInFlight: number;
  /** Answers every held request (with its answer). */
  release(): void;
  /** The distinct webhook-ids received with a 2xx answer. */
  deliveredIds(): Set<string>;
  close(): Promise<void>;
}

export async function startReceiver(t: Teardown, respond: (r: Received) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const held: (() => void)[] = [];
  const ok = new Set<string>();
  const receiver: Receiver = {
    url: '',
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    release: () => {
      for (const f of held.splice(0)) f();
    },
    deliveredIds: () => ok,
    close: async () => {
      receiver.release();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        n: receiver.received.length + 1,
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        id: String(req.headers['webhook-id'] ?? ''),
        remotePort: req.socket.remotePort ?? 0,
        at: Date.now(),
      };
      receiver.received.push(r);
      receiver.inFlight++;
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      const a = respond(r);
      res.once('close', () => {
        if (r.answeredAt === undefined) r.abandoned = true;
      });
      const send = () => {
        receiver.inFlight--;
        r.answeredAt = Date.now();
        // An answer the sender no longer waits for delivered nothing.
        if (res.destroyed) return;
        if (a.status >= 200 && a.status < 300) ok.add(r.id);
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.hold) held.push(send);
      else if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => receiver.close());
  return receiver;
}

/** Verifies a received delivery with the standardwebhooks package; throws when no signature matches. */
export function verify(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });
}
