// The REST handlers, by OpenAPI operationId; fastify-openapi-glue mounts them from openapi.json.
import { ackConsumer } from './ackConsumer.ts';
import { createWsTicket } from './createWsTicket.ts';
import { deleteConsumer } from './deleteConsumer.ts';
import { fetchConsumer } from './fetchConsumer.ts';
import { getConsumer } from './getConsumer.ts';
import { getCorrelation } from './getCorrelation.ts';
import { getHealth } from './getHealth.ts';
import { getReadiness } from './getReadiness.ts';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Handler, OperationId } from './handler.ts';
import { listDeadLetters } from './listDeadLetters.ts';
import { listEvents } from './listEvents.ts';
import { listEventTypes } from './listEventTypes.ts';
import { publishEvent, publishEventPreValidation } from './publishEvent.ts';
import { publishEventBatch } from './publishEventBatch.ts';
import { putConsumer } from './putConsumer.ts';
import { redriveDeadLetters } from './redriveDeadLetters.ts';
import { createApiKey } from './createApiKey.ts';
import { deleteApiKey } from './deleteApiKey.ts';
import { getTenant } from './getTenant.ts';
import { listApiKeys } from './listApiKeys.ts';
import { listConsumers } from './listConsumers.ts';
import { putTenant } from './putTenant.ts';
import { streamEvents } from './streamEvents.ts';
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
  listConsumers,
  createApiKey,
  listApiKeys,
  deleteApiKey,
  putTenant,
  getTenant,
  streamEvents,
  putWebhook,
  listWebhooks,
  getWebhook,
  deleteWebhook,
  pauseWebhook,
  resumeWebhook,
  rotateWebhookSecret,
  listWebhookAttempts,
};

/** Route-level `preValidation` hooks of operations that need one (mounted with their handler). */
export const preValidation: Partial<
  Record<OperationId, (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void>
> = {
  publishEvent: publishEventPreValidation,
};
