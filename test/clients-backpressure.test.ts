// The TypeScript WebSocket helper's backpressure against a live gateway: when more events wait for a
// slow handler than `maxQueued`, it closes the connection, lets the handler catch up, and resumes
// after the last event handled: every event is handled once, in order, and the buffer stays bounded.
import t from 'tap';
import { createGatewayClient, type EventInput, subscribe } from '../clients/typescript/src/index.ts';
import { eventually } from './helpers/eventually.ts';
import { KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

t.test('a slow handler: the helper disconnects at maxQueued and resumes after the last handled event', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const rest = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.a });
  const events = Array.from({ length: 20 }, (_, i) =>
    sampleEvent({ id: `evt_bp_${i}`, type: 'order.created', data: { order_id: `o${i}` } }),
  );
  const batch = await rest.publishEventBatch(events as EventInput[]);
  t.equal(batch.failed, 0);

  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const handled: string[] = [];
  const starts: (number | undefined)[] = [];
  const sub = subscribe({
    baseUrl: gw.url,
    apiKey: KEYS.a,
    types: ['order.*'],
    from: 'all',
    maxQueued: 3,
    onSubscribed: (f) => starts.push(f.start_seq),
    onEvent: async (event) => {
      await gate;
      handled.push(event.id);
    },
    reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
  });
  t.teardown(() => sub.close());
  await sub.ready;
  // The handler is stuck on the first event: the helper stops reading and closes the connection.
  await eventually('the helper to close its connection', () => gw.app.websocketServer.clients.size === 0);
  t.same(handled, []);
  release();
  await eventually('every event handled', () => handled.length >= 20);
  await eventually('the helper to be connected again', () => gw.app.websocketServer.clients.size === 1);
  t.same(
    handled,
    events.map((e) => e.id),
    'each event once, in order',
  );
  t.ok(sub.connections >= 2, 'it reconnected');
  t.equal(starts[0], 1);
  t.equal(starts[1], 5, 'the second subscription starts after the 4 events buffered when it stopped reading');
});
