// The REST handlers, by OpenAPI operationId; fastify-openapi-glue mounts them from openapi.json.
import { ackConsumer } from './ackConsumer.ts';
import { createWsTicket } from './createWsTicket.ts';
import { deleteConsumer } from './deleteConsumer.ts';
import { fetchConsumer } from './fetchConsumer.ts';
import { getConsumer } from './getConsumer.ts';
import { getCorrelation } from './getCorrelation.ts';
import { getHealth } from './getHealth.ts';
import { getReadiness } from './getReadiness.ts';
import type { Handler, OperationId } from './handler.ts';
import { listDeadLetters } from './listDeadLetters.ts';
import { listEvents } from './listEvents.ts';
import { listEventTypes } from './listEventTypes.ts';
import { publishEvent } from './publishEvent.ts';
import { publishEventBatch } from './publishEventBatch.ts';
import { putConsumer } from './putConsumer.ts';
import { redriveDeadLetters } from './redriveDeadLetters.ts';
import { deleteWebhook } from './deleteWebhook.ts';
import { getWebhook } from './getWebhook.ts';
import { listWebhookAttempts } from './listWebhookAttempts.ts';
import { listWebhooks } from './listWebhooks.ts';
import { pauseWebhook } from './pauseWebhook.ts';
import { putWebhook } from './putWebhook.ts';
import { resumeWebhook } from './resumeWebhook.ts';
import { rotateWebhookSecret } from './rotateWebhookSecret.ts';

// Typed per operation: a missing handler, or one whose types differ from its operation's schemas,
// fails the typecheck.
export const handlers: { [Id in OperationId]: Handler<Id> } = {
  publishEvent,
  publishEventBatch,
  listEventTypes,
  getHealth,
  getReadiness,
  listEvents,
  getCorrelation,
  createWsTicket,
  putConsumer,
  getConsumer,
  deleteConsumer,
  fetchConsumer,
  ackConsumer,
  listDeadLetters,
  redriveDeadLetters,
  putWebhook,
  listWebhooks,
  getWebhook,
  deleteWebhook,
  pauseWebhook,
  resumeWebhook,
  rotateWebhookSecret,
  listWebhookAttempts,
};
