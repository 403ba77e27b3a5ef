// The PLATFORMA Event Gateway client: REST (openapi-fetch over types generated from the gateway's
// OpenAPI document) and, for subscriptions, a WebSocket helper that resumes after reconnects.
export type * from './generated/openapi.ts';
export type {
  AckFrame,
  ErrorFrame,
  EventFrame,
  NakFrame,
  StartPosition,
  SubscribedFrame,
  SubscribeFrame,
  UnsubscribedFrame,
  UnsubscribeFrame,
} from './generated/websocket.ts';
export * from './gateway-client.ts';
export * from './subscription.ts';
export * from './sse.ts';
