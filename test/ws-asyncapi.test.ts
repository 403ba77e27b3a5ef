// asyncapi/asyncapi.json is generated from schemas/websocket.ts, and describes the frames the
// gateway really sends and accepts.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import t from 'tap';
import { ASYNCAPI_PATH, buildAsyncApiDocument, renderAsyncApi } from '../scripts/generate-asyncapi.ts';
import { KEYS, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';
import { publish, WsClient } from './helpers/ws-client.ts';

const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

t.test('the committed asyncapi.json is up to date (npm run generate:asyncapi)', async (t) => {
  t.equal(readFileSync(ASYNCAPI_PATH, 'utf8'), renderAsyncApi());
});

t.test('every reference in the document resolves', async (t) => {
  const doc = buildAsyncApiDocument();
  const refs: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else walk(v);
      }
    }
  };
  walk(doc);
  t.ok(refs.length > 20);
  for (const ref of refs) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | undefined)?.[key.replaceAll('~1', '/').replaceAll('~0', '~')],
        doc,
      );
    t.ok(target, `${ref} resolves`);
  }
  t.equal(doc.asyncapi, '3.0.0');
  const ops = doc.operations as Record<string, { action: string }>;
  t.same(Object.values(ops).filter((o) => o.action === 'send').length, 4, 'four client frames');
  t.same(Object.values(ops).filter((o) => o.action === 'receive').length, 4, 'four server frames');
});

t.test('frames exchanged with a real gateway match the document', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv, ['date-time']);
  ajv.addSchema(buildAsyncApiDocument(), 'asyncapi');
  const validator = (title: string) => {
    const v = ajv.getSchema(`asyncapi#/components/schemas/${title}`);
    if (!v) throw new Error(`no schema ${title}`);
    return v;
  };
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, {}, { listen: true });
  const ws = await WsClient.connect(t, gw.url, { key: KEYS.a });
  const sent = [
    { op: 'subscribe', sub: 'a', types: ['order.*'], from: { seq: 1 }, ack: 'client', filter: { source: ['ws-test'] } },
    { op: 'ack', sub: 'a', seq: 1 },
    { op: 'nak', sub: 'a', seq: 1, delay_ms: 10 },
    { op: 'unsubscribe', sub: 'a' },
  ];
  for (const [frame, title] of sent.map((f, i) => [f, ['SubscribeFrame', 'AckFrame', 'NakFrame', 'UnsubscribeFrame'][i]] as const)) {
    t.ok(validator(title as string)(frame), `${title} accepts what clients send`);
  }
  ws.send(sent[0] as object);
  const subscribed = await ws.next((f) => f.op === 'subscribed');
  await publish(gw.app, KEYS.a);
  const event = await ws.next((f) => f.op === 'event');
  ws.send({ op: 'ack', sub: 'a', seq: event.seq as number });
  ws.send({ op: 'ack', sub: 'a', seq: event.seq as number });
  const error = await ws.next((f) => f.op === 'error');
  ws.send({ op: 'unsubscribe', sub: 'a' });
  const unsubscribed = await ws.next((f) => f.op === 'unsubscribed');
  for (const [frame, title] of [
    [subscribed, 'SubscribedFrame'],
    [event, 'EventFrame'],
    [error, 'ErrorFrame'],
    [unsubscribed, 'UnsubscribedFrame'],
  ] as const) {
    const v = validator(title);
    t.ok(v(frame), `${title}: ${JSON.stringify(v.errors)}`);
  }
});
