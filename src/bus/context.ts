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
  | 'ADMIN_BUCKET'
  | 'NATS_CREDS_FILE'
  | 'NATS_NKEY_SEED_FILE'
  | 'NATS_TLS_CA'
  | 'NATS_TLS_CERT'
  | 'NATS_TLS_KEY'
  | 'IDEMPOTENCY_RETENTION'
>;

/** A change of the NATS connection, as the Bus reports it (`Bus.onStatus`). */
export type BusStatus = 'connected' | 'disconnected' | 'reconnected' | 'closed';

/** Who listens to the bus (the metrics plugin): called on hot paths, so each is one function call. */
export interface BusHooks {
  /** A publish was acknowledged by JetStream `seconds` after it was sent. */
  publishAcked: ((seconds: number) => void) | undefined;
  readonly status: Set<(status: BusStatus) => void>;
}

export interface BusContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: BusConfig;
  readonly log: Logger;
  /** Connected, and neither closed nor draining. */
  readonly connected: boolean;
  /** Listeners of the bus (absent: nobody listens). */
  readonly hooks?: BusHooks;
}
