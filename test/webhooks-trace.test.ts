// The publisher's W3C trace context travels with the event and comes out on the webhook request as
// the `traceparent` / `tracestate` headers (issue #13 tracing, issue #14); without one, none is sent.
import t from 'tap';
import { eventually } from './helpers/eventually.ts';
import { auth, KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { startReceiver } from './helpers/webhook-receiver.ts';
import { putWebhook } from './helpers/webhooks.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

t.test('a webhook request carries the trace context the event was published with', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_ALLOW_HTTP: true });
  const receiver = await startReceiver(t);
  const created = await putWebhook(app, KEYS.a, 'traced', { url: `${receiver.url}/hook`, types: ['order.created'] });
  t.equal(created.status, 201, JSON.stringify(created.body));

  const post = async (headers: Record<string, string>, orderId: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth(KEYS.a), ...headers },
      payload: { type: 'order.created', source: 'trace-test', data: { order_id: orderId, amount: 1, currency: 'EUR' } },
    });
    t.equal(res.statusCode, 202, res.body);
    return res.json().id as string;
  };
  const traced = await post({ traceparent: TRACEPARENT, tracestate: 'vendor=1' }, 'o_traced');
  const plain = await post({}, 'o_plain');

  await eventually('both deliveries', () => receiver.deliveredIds().size, (n) => n >= 2, { timeoutMs: 20_000 });
  const byId = new Map(receiver.received.map((r) => [r.id, r]));
  t.equal(byId.get(traced)?.headers.traceparent, TRACEPARENT, 'traceparent passed on');
  t.equal(byId.get(traced)?.headers.tracestate, 'vendor=1', 'tracestate passed on');
  t.equal(byId.get(plain)?.headers.traceparent, undefined, 'no trace context, no header');
});
