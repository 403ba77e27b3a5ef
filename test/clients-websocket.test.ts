// The TypeScript client's WebSocket helper against a live gateway, using Node's global WebSocket
// (as a browser would): it receives what is published, and after the connection drops it resumes
// from the last event handled without losing or repeating any.
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  createGatewayClient,
  type EventFrame,
  type EventInput,
  GatewayProblemError,
  SubscriptionError,
  subscribe,
} from '../clients/typescript/src/index.ts';
import { renderWebSocketTypes, WEBSOCKET_TYPES_PATH } from '../scripts/generate-clients.ts';
import { KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { eventually } from './helpers/eventually.ts';

const order = (id: string) => sampleEvent({ id, type: 'order.created', data: { order_id: id } }) as EventInput;

t.test('the committed WebSocket frame types match schemas/websocket.ts (else run npm run generate:clients)', async (t) => {
  t.equal(readFileSync(WEBSOCKET_TYPES_PATH, 'utf8'), await renderWebSocketTypes());
});

t.test('the WebSocket helper against a live gateway', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const rest = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.a });
  const dropConnections = () => {
    for (const socket of gw.app.websocketServer.clients) socket.terminate();
  };

  t.test('receives published events and resumes after a dropped connection, losing and repeating none', async (t) => {
    const received: EventFrame[] = [];
    const starts: (number | undefined)[] = [];
    const sub = subscribe({
      baseUrl: gw.url,
      apiKey: KEYS.aSubscribe,
      types: ['order.*'],
      id: 'orders',
      onEvent: (_event, frame) => {
        received.push(frame);
      },
      onSubscribed: (frame) => starts.push(frame.start_seq),
      reconnect: { initialDelayMs: 100, maxDelayMs: 200 },
    });
    t.teardown(() => sub.close());
    const first = await sub.ready;
    t.match(first, { op: 'subscribed', sub: 'orders', ack: 'auto', start: 'new' });

    const e1 = await rest.publishEvent(order('evt_ws_1'));
    await eventually('the first event', () => received.length === 1);
    t.match(received[0], { seq: e1.seq, delivery: 1, event: { id: 'evt_ws_1', tenant_id: 'ten_a', type: 'order.created' } });
    t.equal(sub.lastSeq, e1.seq);

    // Drop the connection, then publish while the helper is away (its backoff is at least 50 ms).
    dropConnections();
    const other = await rest.publishEvent(
      sampleEvent({ type: 'resource.created', data: { id: 'r', type: 'vm', status: 'up' } }) as EventInput,
    );
    const e2 = await rest.publishEvent(order('evt_ws_2'));
    const e3 = await rest.publishEvent(order('evt_ws_3'));
    await eventually('the events published while disconnected', () => received.length >= 3);
    // Let anything extra (a duplicate) arrive before asserting there is none.
    const e4 = await rest.publishEvent(order('evt_ws_4'));
    await eventually('a live event after the resume', () => received.some((f) => f.seq === e4.seq));

    t.same(
      received.map((f) => f.event.id),
      ['evt_ws_1', 'evt_ws_2', 'evt_ws_3', 'evt_ws_4'],
      'each order event once, in order; the resource event filtered out',
    );
    t.same(
      received.map((f) => f.seq),
      [e1.seq, e2.seq, e3.seq, e4.seq],
    );
    t.ok(other.seq > e1.seq && other.seq < e2.seq);
    t.equal(sub.connections, 2, 'one reconnect');
    t.same(starts, [undefined, e1.seq + 1], 'the second subscription resumed at the last seq + 1');

    await sub.close();
    t.equal(await sub.closed, undefined);
    await eventually('the gateway to see the connection closed', () => gw.app.websocketServer.clients.size === 0);
  });

  t.test('client ack: a handler that throws gets the event again, then acks it', async (t) => {
    const deliveries: number[] = [];
    const errors: Error[] = [];
    let failOnce = true;
    const sub = subscribe({
      baseUrl: gw.url,
      apiKey: KEYS.a,
      types: ['order.created'],
      from: 'all',
      ack: 'client',
      onEvent: (event, frame) => {
        if (event.id !== 'evt_ws_ack') return;
        deliveries.push(frame.delivery);
        if (failOnce) {
          failOnce = false;
          throw new Error('handler failed');
        }
      },
      onError: (err) => errors.push(err),
    });
    t.teardown(() => sub.close());
    await sub.ready;
    await rest.publishEvent(order('evt_ws_ack'));
    await eventually('the redelivery', () => deliveries.length === 2);
    t.same(deliveries, [1, 2]);
    t.equal(errors[0]?.message, 'handler failed');
    // Acked: not delivered a third time within a short wait for anything more.
    const marker = await rest.publishEvent(order('evt_ws_after'));
    await eventually('a later event', () => sub.lastSeq !== undefined && sub.lastSeq >= marker.seq);
    t.same(deliveries, [1, 2]);
  });

  t.test('a key without the subscribe scope ends the subscription with the 403 problem', async (t) => {
    const sub = subscribe({ baseUrl: gw.url, apiKey: KEYS.aPublish, types: ['*'], onEvent: () => {} });
    const err = await sub.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof GatewayProblemError);
    t.equal((err as GatewayProblemError).code, 'GW_FORBIDDEN_SCOPE');
    t.equal(await sub.closed, err);
    t.equal(sub.connections, 0);
  });

  t.test('a subscription the gateway refuses is not retried', async (t) => {
    const sub = subscribe({
      baseUrl: gw.url,
      apiKey: KEYS.a,
      types: ['order.created'],
      filter: { 'data.order_id': { $no_such_operator: 1 } },
      onEvent: () => {},
    });
    const err = (await sub.closed) as SubscriptionError;
    t.ok(err instanceof SubscriptionError, String(err));
    t.equal(err.fatal, true);
    t.match(err.code, /^GW_INVALID_(FILTER|FRAME)$/);
    t.equal(sub.connections, 1);
  });
});
