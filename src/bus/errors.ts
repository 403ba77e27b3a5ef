// Error translation at the edge of the bus: NATS and JetStream failures become GW_* errors here and
// nowhere else. The JetStream API error codes and pull status codes the bus branches on are named
// once (JetStreamApiCodes, PullStatus). An error the bus does not recognise is a bug, not an
// outage: it becomes 500 GW_INTERNAL with its cause (the problem handler logs it once).

import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  ProtocolError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { GatewayError } from '../errors.ts';
import type { BusConfig } from './context.ts';

/** The JetStream API error codes (`err_code`) the gateway branches on. */
export const JetStreamApiCodes = {
  /** `consumer already exists` (create raced with another instance). */
  ConsumerAlreadyExists: 10148,
  /** `consumer name already in use` (older servers' answer to the same race). */
  ConsumerNameExists: 10013,
  ConsumerNotFound: 10014,
  NoMessageFound: 10037,
  /** `message size exceeds maximum allowed` (the stream's max_msg_size). */
  MessageTooLarge: 10054,
  StreamNameInUse: 10058,
  StreamNotFound: 10059,
  /** `wrong last sequence`: a compare-and-set write (KV create or update) lost to another writer. */
  StreamWrongLastSequence: 10071,
} as const;

/** Status codes of the headers-only replies of a hand-rolled pull or direct get. */
export const PullStatus = {
  /** Idle heartbeat or flow control. */
  Heartbeat: 100,
  /** Direct get: end of a batch, with the remaining count. */
  EndOfBatch: 204,
  /** No messages (a `no_wait` pull, a direct get that matched nothing). */
  NoMessages: 404,
  /** The pull request expired. */
  RequestTimeout: 408,
  /** The request was ended by the server (consumer deleted, too many waiting pulls, …). */
  Conflict: 409,
  /** No responders: JetStream is not answering. */
  NoResponders: 503,
} as const;

/** True when `err` is a JetStream API error with that code. */
export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** A reply from NATS the bus could not make sense of (an invalid publish acknowledgement). */
export class BusProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BusProtocolError';
  }
}

export function unavailable(config: Pick<BusConfig, 'RETRY_AFTER_SECONDS'>, detail: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_NATS_UNAVAILABLE', detail, { retryAfter: config.RETRY_AFTER_SECONDS, cause });
}

/** `err` and its causes, outermost first (nats.js wraps: JetStreamNotEnabled → RequestError → NoResponders). */
function causes(err: unknown): unknown[] {
  const chain = [err];
  for (let e = err; e instanceof Error && e.cause !== undefined && chain.length < 8; e = e.cause) chain.push(e.cause);
  return chain;
}

/** True when a NATS request got no answer: it timed out, or nobody serves the subject now. */
export function isUnanswered(err: unknown): boolean {
  return causes(err).some((e) => e instanceof TimeoutError || e instanceof NoRespondersError);
}

/** nats.js errors that mean the bus, not our code, failed. */
function isBusFailure(e: unknown): e is Error {
  return (
    e instanceof JetStreamError ||
    e instanceof ConnectionError ||
    e instanceof ProtocolError ||
    e instanceof RequestError ||
    e instanceof BusProtocolError ||
    // Not exported by @nats-io/jetstream; thrown when a JetStream request has no responders.
    (e instanceof Error && e.name === 'JetStreamNotEnabled')
  );
}

/**
 * NATS and JetStream failures as GW_* errors, every recognised one retryable (nothing was done);
 * a GatewayError passes through; anything else is GW_INTERNAL.
 */
export function translate(err: unknown, config: Pick<BusConfig, 'RETRY_AFTER_SECONDS' | 'PUBLISH_TIMEOUT_MS'>): GatewayError {
  if (err instanceof GatewayError) return err;
  const chain = causes(err);
  if (chain.some((e) => e instanceof TimeoutError)) {
    return new GatewayError(
      'GW_PUBLISH_TIMEOUT',
      `No acknowledgement from JetStream within ${config.PUBLISH_TIMEOUT_MS} ms; retry with the same event id`,
      { retryAfter: config.RETRY_AFTER_SECONDS, cause: err },
    );
  }
  if (chain.some((e) => e instanceof NoRespondersError)) {
    return unavailable(config, 'JetStream is not answering (no responders for the stream)', err);
  }
  if (chain.some((e) => e instanceof ClosedConnectionError || e instanceof DrainingConnectionError)) {
    return unavailable(config, 'The event bus connection is closed', err);
  }
  // The stream's own max_msg_size (an operator's setting) refused the message: the client's to fix.
  if (chain.some((e) => isApiError(e, JetStreamApiCodes.MessageTooLarge))) {
    return new GatewayError('GW_PAYLOAD_TOO_LARGE', 'The event is larger than the event stream accepts (its max_msg_size)', { cause: err });
  }
  const refused = chain.find((e) => e instanceof JetStreamApiError);
  if (refused) return unavailable(config, `JetStream refused the operation: ${(refused as Error).message}`, err);
  const failure = chain.find(isBusFailure);
  if (failure) return unavailable(config, `The event bus failed: ${failure.message}`, err);
  return new GatewayError('GW_INTERNAL', 'The gateway failed unexpectedly', { cause: err });
}
