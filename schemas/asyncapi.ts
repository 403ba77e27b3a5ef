// The AsyncAPI 3.0 description of the WebSocket protocol (GET /v1/ws), built from the same TypeBox
// schemas the gateway validates frames with. The gateway serves it at /asyncapi.json
// (src/plugins/contract.ts); `npm run generate:asyncapi` writes the same document to
// asyncapi/asyncapi.json, and a test fails when that committed copy is stale or when
// @asyncapi/parser finds an error in it.
import type { TSchema } from '@sinclair/typebox';
import { EventEnvelope } from './envelope.ts';
import { ErrorCode, FieldError } from './errors.ts';
import { componentRefs, plain } from './openapi-builder.ts';
import {
  AckFrame,
  CLOSE_CODES,
  ErrorFrame,
  EventFrame,
  NakFrame,
  StartPosition,
  SubscribedFrame,
  SubscribeFrame,
  UnsubscribedFrame,
  UnsubscribeFrame,
} from './websocket.ts';

const CLIENT: [string, TSchema, string][] = [
  ['subscribe', SubscribeFrame, 'Start a subscription.'],
  ['ack', AckFrame, 'Acknowledge an event (client-ack subscriptions).'],
  ['nak', NakFrame, 'Ask for an event again (client-ack subscriptions).'],
  ['unsubscribe', UnsubscribeFrame, 'Stop a subscription.'],
];
const SERVER: [string, TSchema, string][] = [
  ['subscribed', SubscribedFrame, 'A subscription is active, and where its delivery starts.'],
  ['event', EventFrame, 'One event of a subscription.'],
  ['unsubscribed', UnsubscribedFrame, 'A subscription is gone.'],
  ['error', ErrorFrame, 'A frame was refused or a subscription failed; the connection stays open.'],
];
const NAMED: TSchema[] = [...[...CLIENT, ...SERVER].map(([, s]) => s), StartPosition, EventEnvelope, ErrorCode, FieldError];

export function buildAsyncApiDocument(): Record<string, unknown> {
  const titles = new Set(NAMED.map((s) => (s as { title?: string }).title as string));
  const refs = (node: unknown, root = false) => componentRefs(node, titles, root);
  const schemas: Record<string, unknown> = {};
  for (const s of [...NAMED].sort((a, b) => String(a.title).localeCompare(String(b.title))))
    schemas[s.title as string] = refs(plain(s), true);

  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const [direction, list] of [
    ['send', CLIENT],
    ['receive', SERVER],
  ] as const) {
    for (const [op, schema, summary] of list) {
      messages[op] = {
        name: op,
        title: schema.title,
        summary,
        contentType: 'application/json',
        payload: { $ref: `#/components/schemas/${schema.title}` },
      };
      channelMessages[op] = { $ref: `#/components/messages/${op}` };
      operations[`${direction}${op[0]?.toUpperCase()}${op.slice(1)}`] = {
        action: direction,
        channel: { $ref: '#/channels/subscriptions' },
        summary: direction === 'send' ? `Client → gateway: ${summary}` : `Gateway → client: ${summary}`,
        messages: [{ $ref: `#/channels/subscriptions/messages/${op}` }],
      };
    }
  }

  const closeCodes = Object.fromEntries(Object.entries(CLOSE_CODES).map(([name, c]) => [String(c.code), { name, reason: c.reason }]));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'PLATFORMA Event Gateway: WebSocket subscriptions',
      version: '0.1.0',
      description:
        'Subscribe to a tenant\'s events over one WebSocket (`GET /v1/ws`): JSON text frames, one `op` each. Live, replay (`from`), at-least-once (`ack: "client"`), consumer groups and content filters. ' +
        'Authenticate the upgrade with `Authorization: Bearer <key>` (scope `subscribe`) or, from browsers, `?ticket=` from `POST /v1/ws-tickets`. ' +
        'A bad frame gets an `error` frame; only protocol abuse closes the connection, with the codes in `x-close-codes`. See docs/websocket.md.',
      // AsyncAPI 3.0's License Object has `name` and `url` only (`identifier` is OpenAPI 3.1's).
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:8080',
        protocol: 'ws',
        pathname: '/v1/ws',
        description: 'A gateway running locally (`npm start`).',
        security: [{ $ref: '#/components/securitySchemes/bearerAuth' }, { $ref: '#/components/securitySchemes/ticket' }],
      },
    },
    channels: {
      subscriptions: {
        address: '/v1/ws',
        title: 'Subscriptions',
        description:
          'One connection carries any number of subscriptions (up to WS_MAX_SUBSCRIPTIONS), each named by the client-chosen `sub`.',
        messages: channelMessages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: { ticket: { type: 'string', description: 'A single-use ticket from `POST /v1/ws-tickets` (browsers).' } },
            },
            bindingVersion: '0.1.0',
          },
        },
        'x-close-codes': closeCodes,
      },
    },
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A tenant API key with the `subscribe` scope.' },
        ticket: {
          type: 'httpApiKey',
          name: 'ticket',
          in: 'query',
          description: 'A ticket from `POST /v1/ws-tickets`: valid WS_TICKET_TTL, single use.',
        },
      },
    },
  };
}
