// The generated TypeScript client, used alone against a live gateway: what a TypeScript service
// sees when publishing, and that every error reaches it as a GatewayProblemError with a stable code.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { createGatewayClient, type EventInput, GatewayProblemError } from '../clients/typescript/src/index.ts';
import { OPERATION_IDS } from '../clients/typescript/src/generated/operations.ts';
import {
  CLIENT_TYPES_PATH,
  OPERATIONS_PATH,
  readOpenApiDocument,
  renderClientTypes,
  renderOperations,
} from '../scripts/generate-clients.ts';
import { KEYS, sampleEvent, startGateway } from './helpers/gateway.ts';
import { startNats } from './helpers/nats.ts';

const event = (overrides: Record<string, unknown> = {}) => sampleEvent(overrides) as EventInput;

/** The GatewayProblemError a promise rejects with (fails the test when it resolves or throws something else). */
async function problemOf(t: { fail(message: string): unknown }, promise: Promise<unknown>): Promise<GatewayProblemError> {
  try {
    const value = await promise;
    t.fail(`expected a problem, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof GatewayProblemError) return err;
    t.fail(`expected a GatewayProblemError, got ${String(err)}`);
  }
  throw new Error('unreachable');
}

t.test('the committed client types match openapi/openapi.json (else run npm run generate:clients)', async (t) => {
  t.equal(readFileSync(CLIENT_TYPES_PATH, 'utf8'), await renderClientTypes());
});

t.test('the committed operation methods match openapi/openapi.json, one per operation (else run npm run generate:clients)', async (t) => {
  t.equal(readFileSync(OPERATIONS_PATH, 'utf8'), renderOperations());
  const ids = Object.values(readOpenApiDocument().paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) =>
    Object.values(ops).map((op) => op.operationId),
  );
  t.same([...OPERATION_IDS].sort(), ids.sort());
  const client = createGatewayClient({ baseUrl: 'http://127.0.0.1:1' });
  for (const id of ids) t.type((client as unknown as Record<string, unknown>)[id], 'function', id);
});

t.test('the generated client against a live gateway', async (t) => {
  const nats = await startNats(t);
  const gw = await startGateway(t, nats.url, { BODY_LIMIT_BYTES: 4096 }, { listen: true });
  const client = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.a });

  t.test('publishes an event and answers the same seq for a retry with the same id', async (t) => {
    const first = await client.publishEvent(event({ id: 'evt_client_1' }), { correlationId: 'req_client_1' });
    t.equal(first.id, 'evt_client_1');
    t.equal(first.duplicate, false);
    t.ok(first.seq >= 1);
    const again = await client.publishEvent(event({ id: 'evt_client_1' }));
    t.equal(again.duplicate, true);
    t.equal(again.seq, first.seq);
  });

  t.test('publishes a batch and reports the invalid event by index and field', async (t) => {
    const result = await client.publishEventBatch([event(), event({ data: { resources: [] } }), event()]);
    t.equal(result.results.length, 3);
    t.equal(result.failed, 1);
    const [stored, failed, last] = result.results;
    t.ok(stored && 'seq' in stored && stored.seq >= 1);
    t.ok(last && 'seq' in last && stored && 'seq' in stored && last.seq > stored.seq);
    t.ok(failed && 'error' in failed, 'the second event failed');
    if (failed && 'error' in failed) {
      t.equal(failed.index, 1);
      t.equal(failed.error.code, 'GW_VALIDATION_FAILED');
      t.ok(failed.error.errors?.some((e) => e.pointer === '/data/order_id'));
    }
  });

  t.test('lists the catalogue', async (t) => {
    const { types } = await client.listEventTypes();
    t.ok(types.some((x) => x.type === 'order.provisioned' && x.version === '1.0'));
  });

  t.test('health needs no key', async (t) => {
    const anonymous = createGatewayClient({ baseUrl: gw.url });
    t.same(await anonymous.getHealth(), { status: 'ok' });
    t.same(await anonymous.getReadiness(), { status: 'ready', nats: true, stream: true });
  });

  t.test('401: no key, unknown key', async (t) => {
    for (const apiKey of [undefined, 'not-a-key']) {
      const err = await problemOf(t, createGatewayClient({ baseUrl: gw.url, apiKey }).publishEvent(event()));
      t.equal(err.status, 401);
      t.equal(err.code, 'GW_UNAUTHORIZED');
      t.ok(err.requestId, 'carries the request id');
    }
  });

  t.test('403: a key without the publish scope, and another tenant in the envelope', async (t) => {
    const readOnly = createGatewayClient({ baseUrl: gw.url, apiKey: KEYS.aRead });
    const scope = await problemOf(t, readOnly.publishEvent(event()));
    t.equal(scope.status, 403);
    t.equal(scope.code, 'GW_FORBIDDEN_SCOPE');
    const tenant = await problemOf(t, client.publishEvent(event({ tenant_id: 'ten_b' })));
    t.equal(tenant.status, 403);
    t.equal(tenant.code, 'GW_TENANT_MISMATCH');
  });

  t.test('422 names each failing field with a JSON pointer', async (t) => {
    const envelope = await problemOf(t, client.publishEvent({ ...event(), colour: 'red' } as EventInput));
    t.equal(envelope.status, 422);
    t.equal(envelope.code, 'GW_VALIDATION_FAILED');
    t.same(
      envelope.errors.map((e) => e.pointer),
      ['/colour'],
    );
    const data = await problemOf(t, client.publishEvent(event({ data: { resources: [] } })));
    t.equal(data.code, 'GW_VALIDATION_FAILED');
    t.same(data.errors.map((e) => [e.pointer, e.keyword]).sort(), [
      ['/data/order_id', 'required'],
      ['/data/resources', 'minItems'],
    ]);
    const unknownType = await problemOf(t, client.publishEvent(event({ type: 'order.teleported' })));
    t.equal(unknownType.code, 'GW_UNKNOWN_EVENT_TYPE');
  });

  t.test('413 for a body over BODY_LIMIT_BYTES', async (t) => {
    const err = await problemOf(t, client.publishEvent(event({ data: { order_id: 'ord_1', padding: 'x'.repeat(8192) } })));
    t.equal(err.status, 413);
    t.equal(err.code, 'GW_PAYLOAD_TOO_LARGE');
  });

  t.test('415 for a body that is not JSON, through the plain openapi-fetch client', async (t) => {
    const result = await client.api.POST('/v1/events', {
      body: 'type=order.created' as never,
      bodySerializer: (body) => body as unknown as string,
      headers: { 'Content-Type': 'text/plain' },
    });
    t.equal(result.data, undefined);
    const err = GatewayProblemError.from(result.error, result.response);
    t.equal(err.status, 415);
    t.equal(err.code, 'GW_UNSUPPORTED_MEDIA_TYPE');
    t.equal(result.response.headers.get('content-type')?.split(';')[0], 'application/problem+json');
  });

  t.test('a non-problem error body still becomes a GatewayProblemError, without a code', async (t) => {
    const proxy = createGatewayClient({
      baseUrl: gw.url,
      apiKey: KEYS.a,
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }),
    });
    const err = await problemOf(t, proxy.publishEvent(event()));
    t.equal(err.status, 502);
    t.equal(err.code, undefined);
  });
});
