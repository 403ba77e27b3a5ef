// buildApp's plugins: each registered under its name with its decorators, the OpenAPI document
// built in-process (once per process) from the schemas, dependencies enforced, and what a plugin
// opened closed when the app closes.
import Fastify from 'fastify';
import t from 'tap';
import { buildOpenApiDocument } from '../schemas/openapi.ts';
import { busInternals } from '../src/bus/testing.ts';
import { configWith } from '../src/config.ts';
import { configPlugin } from '../src/plugins/config.ts';
import { restPlugin } from '../src/plugins/rest.ts';
import { startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const PLUGINS = ['config', 'http', 'auth', 'bus', 'catalogue', 'contract', 'websocket', 'rest-routes'];

t.test('every plugin is registered by name and decorates the instance', async (t) => {
  const nats = await startNats(t);
  const { app, config } = await startGateway(t, nats.url);
  for (const name of PLUGINS) t.ok(app.hasPlugin(name), `plugin ${name}`);
  t.equal(app.config, config);
  t.ok(app.bus.connected, 'bus connected');
  t.equal(app.apiKeys.staticSize, 5);
  t.ok(app.catalogue.get('order.created'), 'catalogue');
  t.ok(app.preparer, 'preparer');
  t.ok(app.ackTokens, 'ack tokens');
  t.ok(app.wsSubscriptions, 'WebSocket subscriptions');
  t.notOk('gateway' in app, 'no decorator bag');
});

t.test('the OpenAPI document is built from the schemas, once per process', async (t) => {
  const nats = await startNats(t);
  const one = await startGateway(t, nats.url);
  const two = await startGateway(t, nats.url);
  t.same(one.app.openapi, buildOpenApiDocument());
  t.equal(one.app.openapi, two.app.openapi, 'the same document object');
  const served = await one.app.inject({ method: 'GET', url: '/openapi.json' });
  t.same(served.json(), buildOpenApiDocument());
});

t.test('a plugin refuses to load without the plugins it depends on', async (t) => {
  const app = Fastify({ logger: false });
  await app.register(configPlugin, { config: configWith({}) });
  app.register(restPlugin);
  await t.rejects(async () => {
    await app.ready();
  }, /The dependency 'http' of plugin 'rest-routes' is not registered/);
  await app.close();
});

t.test('closing the app drains its NATS connection', async (t) => {
  const nats = await startNats(t);
  const { app } = await startGateway(t, nats.url);
  const { nc } = busInternals(app.bus);
  await app.close();
  t.ok(nc.isClosed(), 'NATS connection closed');
});
