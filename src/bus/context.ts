// What every bus module works with: the one NATS connection (and its JetStream clients), the bus
// settings and a logger. Modules take a BusContext, never the Bus facade, so they do not import
// each other in a loop through it.

import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';

export type BusConfig = Pick<
  Config,
  | 'NATS_URL'
  | 'NATS_TOKEN'
  | 'NATS_USER'
  | 'NATS_PASSWORD'
  | 'STREAM_NAME'
  | 'STREAM_SUBJECT_PREFIX'
  | 'STREAM_MAX_AGE'
  | 'STREAM_MAX_BYTES'
  | 'STREAM_REPLICAS'
  | 'STREAM_DUPLICATE_WINDOW'
  | 'STREAM_STORAGE'
  | 'PUBLISH_TIMEOUT_MS'
  | 'NATS_DRAIN_TIMEOUT_MS'
  | 'RETRY_AFTER_SECONDS'
  | 'CONSUMER_ACK_WAIT'
  | 'CONSUMER_MAX_DELIVER'
  | 'CONSUMER_IDLE_TIMEOUT'
  | 'WS_CONSUMER_HEARTBEAT'
  | 'DEAD_LETTER_STREAM'
  | 'DEAD_LETTER_MAX_AGE'
  | 'STREAM_UPDATE'
  | 'WS_TICKET_TTL'
  | 'IDEMPOTENCY_RETENTION'
>;

export interface BusContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: BusConfig;
  readonly log: Logger;
  /** Connected, and neither closed nor draining. */
  readonly connected: boolean;
}
