// The REST handlers, by OpenAPI operationId; fastify-openapi-glue mounts them from openapi.json.
import { createWsTicket } from './createWsTicket.ts';
import { getCorrelation } from './getCorrelation.ts';
import { getHealth } from './getHealth.ts';
import { getReadiness } from './getReadiness.ts';
import { listEvents } from './listEvents.ts';
import { listEventTypes } from './listEventTypes.ts';
import { publishEvent } from './publishEvent.ts';
import { publishEventBatch } from './publishEventBatch.ts';

export const handlers: Record<string, (...args: never[]) => unknown> = {
  publishEvent,
  publishEventBatch,
  listEventTypes,
  getHealth,
  getReadiness,
  listEvents,
  getCorrelation,
  createWsTicket,
};
