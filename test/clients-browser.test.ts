// The TypeScript client's WebSocket helper in a real browser (headless Chromium as found by
// test/helpers/browser.ts; skipped with the reason when there is none): the page loads the client's
// own source (types stripped, openapi-fetch by import map), subscribes with tickets, and resumes
// after a drop.
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import t from 'tap';
import { createGatewayClient, type EventInput } from '../clients/typescript/src/index.ts';
import { PROJECT_ROOT } from '../dev/paths.ts';
import { chromiumMissing, findChromium } from './helpers/browser.ts';
import { KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { eventually } from './helpers/eventually.ts';

const chromium = findChromium();

const order = (id: string) => sampleEvent({ id, type: 'order.created', data: { order_id: id } }) as EventInput;

t.test(
  'in a browser, the helper subscribes with tickets and resumes after a dropped connection',
  { skip: chromiumMissing() },
  async (t) => {
    const nats = await startNats(t);
    const gw = await startGateway(t, nats.url, {}, { listen: true });
    const rest = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.a });
    // A browser never holds a key: its backend hands it tickets (one per connection).
    const tickets: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { data } = await rest.api.POST('/v1/ws-tickets');
      tickets.push(data?.ticket ?? '');
    }

    const page = `<!doctype html><html><head><script type="importmap">{"imports":{"openapi-fetch":"/node_modules/openapi-fetch/dist/index.mjs"}}</script></head>
<body><script type="module">
const log = (line) => fetch('/log', { method: 'POST', body: line });
window.addEventListener('error', (e) => log('page error ' + e.message));
const { subscribe } = await import('/clients/typescript/src/index.ts');
const tickets = ${JSON.stringify(tickets)};
subscribe({
  baseUrl: ${JSON.stringify(gw.url)},
  getTicket: async () => tickets.shift(),
  types: ['order.*'],
  reconnect: { initialDelayMs: 100, maxDelayMs: 200 },
  onSubscribed: (f) => log('subscribed ' + (f.start_seq ?? 'new')),
  onEvent: (e, f) => log('event ' + e.id + ' ' + f.seq),
});
</script></body></html>`;
    const lines: string[] = [];
    const server = createServer((req, res) => {
      const path = normalize(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      if (path === '/log') {
        let body = '';
        req.on('data', (chunk) => {
          body += chunk;
        });
        req.on('end', () => {
          lines.push(body);
          res.writeHead(204).end();
        });
        return;
      }
      // Only the client's source and its one dependency.
      if (!path.startsWith('/clients/typescript/src/') && !path.startsWith('/node_modules/openapi-fetch/'))
        return void res.writeHead(404).end();
      try {
        const source = readFileSync(join(PROJECT_ROOT, path), 'utf8');
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(path.endsWith('.ts') ? stripTypeScriptTypes(source) : source);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pageUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

    const profile = mkdtempSync(join(tmpdir(), 'gw-chromium-'));
    const browser: ChildProcess = execFile(
      chromium as string,
      ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, pageUrl],
      { timeout: 90_000 },
      () => {},
    );
    const exited = new Promise((resolve) => browser.once('exit', resolve));
    // One teardown, in order: the browser (and its connections) first, then its profile and the page server.
    t.teardown(async () => {
      browser.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      rmSync(profile, { recursive: true, force: true });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    await eventually('the page to subscribe', () => lines.includes('subscribed new'), Boolean, { timeoutMs: 45_000 });
    const e1 = await rest.publishEvent(order('evt_browser_1'));
    await eventually('the first event in the page', () => lines.some((l) => l.startsWith('event evt_browser_1')), Boolean, {
      timeoutMs: 15_000,
    });
    for (const socket of gw.app.websocketServer.clients) socket.terminate();
    const e2 = await rest.publishEvent(order('evt_browser_2'));
    const e3 = await rest.publishEvent(order('evt_browser_3'));
    await eventually('the events published while disconnected', () => lines.some((l) => l.startsWith('event evt_browser_3')), Boolean, {
      timeoutMs: 15_000,
    });

    t.same(
      lines.filter((l) => !l.startsWith('page error')),
      [
        'subscribed new',
        `event evt_browser_1 ${e1.seq}`,
        `subscribed ${e1.seq + 1}`,
        `event evt_browser_2 ${e2.seq}`,
        `event evt_browser_3 ${e3.seq}`,
      ],
    );
    t.notOk(
      lines.some((l) => l.startsWith('page error')),
      'no page errors',
    );
  },
);
