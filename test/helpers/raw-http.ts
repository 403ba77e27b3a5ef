// Raw HTTP over node:net, for what fetch and inject cannot send: malformed requests, stalled
// bodies, idle keep-alive sockets.
import { connect } from 'node:net';
import type { Test } from 'tap';
import { ERROR_CODES } from '../../src/errors.ts';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the socket's close. */
  ms: number;
}

/**
 * Sends `request` as is and reads one answer: until it is complete (by Content-Length), or with
 * `untilClosed`, until the server closes the connection. Rejects after `timeoutMs`.
 */
export function raw(url: string, request: string | Buffer, timeoutMs = 5000, untilClosed = false): Promise<RawAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    socket.on('data', (c) => {
      chunks.push(c);
      // A complete answer with Content-Length: stop there (keep-alive sockets stay open).
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      if (!untilClosed && end >= 0 && len !== undefined && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(len)) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1] ?? 0),
        headers,
        body: end < 0 ? '' : text.slice(end + 4),
        ms: Date.now() - started,
      });
    });
    socket.write(request);
  });
}

export function expectProblem(t: Test, answer: RawAnswer, status: number, code: string, what: string): void {
  t.equal(answer.status, status, `${what}: status ${status}`);
  t.match(answer.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(answer.body);
  } catch {
    t.fail(`${what}: body is not JSON: ${answer.body.slice(0, 200)}`);
  }
  t.match(body, { status, code, title: String, type: String, detail: String }, `${what}: ${answer.body.slice(0, 300)}`);
  t.ok(
    code in ERROR_CODES && ERROR_CODES[code as keyof typeof ERROR_CODES].status === status,
    `${what}: ${code} is in the catalogue with ${status}`,
  );
}
