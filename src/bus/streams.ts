// The streams the gateway owns (events, dead letters): their settings, created at start and after
// a reconnect, or brought in line with the settings the gateway owns, however many instances do it
// at once; and what the delivery side needs to know of the event stream's state.
import { DiscardPolicy, type JetStreamManager, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BusConfig, BusContext } from './context.ts';
import { isApiError, JetStreamApiCodes } from './errors.ts';
import { deadLetterSubjects, liveSubjects, redriveSubjects, streamSubjects } from './subjects.ts';

/** The settings of a stream the gateway owns; any other setting is left as the operator set it. */
export type OwnedStreamSettings = Partial<StreamConfig> & { name: string; subjects: string[] };

/** The event stream's settings the gateway owns; anything else an operator set on the stream is kept. */
export function streamSettings(config: BusConfig): OwnedStreamSettings {
  const prefix = config.STREAM_SUBJECT_PREFIX;
  return {
    name: config.STREAM_NAME,
    // `<prefix>_redrive.<tenant>.<consumer>` carries dead letters put back to one durable consumer.
    subjects: [streamSubjects(prefix), redriveSubjects(prefix)],
    max_age: nanos(config.STREAM_MAX_AGE),
    max_bytes: config.STREAM_MAX_BYTES,
    num_replicas: config.STREAM_REPLICAS,
    duplicate_window: nanos(config.STREAM_DUPLICATE_WINDOW),
    storage: config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    // Direct gets let any replica answer history reads without a consumer.
    allow_direct: true,
    // Every STORED event is republished to `<prefix>_live.…` (with its Nats-Sequence), which the
    // live feed subscribes to: a deduplicated retry is never seen twice by a live reader.
    republish: { src: streamSubjects(prefix), dest: liveSubjects(prefix) },
  };
}

export function deadLetterStreamSettings(config: BusConfig): OwnedStreamSettings {
  return {
    name: config.DEAD_LETTER_STREAM,
    subjects: [deadLetterSubjects(config.STREAM_SUBJECT_PREFIX)],
    max_age: nanos(config.DEAD_LETTER_MAX_AGE),
    num_replicas: config.STREAM_REPLICAS,
    storage: config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    allow_direct: true,
  };
}

/**
 * Creates the stream, or updates the owned settings that differ. Safe when instances race: one
 * that loses the create (stream name in use) goes round and updates instead. `label` names it in the log.
 */
export async function ensureOwnedStream(jsm: JetStreamManager, wanted: OwnedStreamSettings, log: Logger, label: string): Promise<void> {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const current = (await jsm.streams.info(wanted.name)).config;
      const changed = (Object.keys(wanted) as (keyof OwnedStreamSettings)[]).some(
        (k) => JSON.stringify(current[k]) !== JSON.stringify(wanted[k]),
      );
      if (changed) {
        await jsm.streams.update(wanted.name, { ...current, ...wanted });
        log.info({ stream: wanted.name }, `${label} updated`);
      }
      return;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    try {
      await jsm.streams.add(wanted);
      log.info({ stream: wanted.name, subjects: wanted.subjects }, `${label} created`);
      return;
    } catch (err) {
      // Another instance created it between our info and add: go round and update instead.
      if (!isApiError(err, JetStreamApiCodes.StreamNameInUse)) throw err;
    }
  }
}

export function ensureEventStream(ctx: BusContext): Promise<void> {
  return ensureOwnedStream(ctx.jsm, streamSettings(ctx.config), ctx.log, 'stream');
}

/** Creates the dead-letter stream, or updates the settings the gateway owns. Safe when instances race. */
export function ensureDeadLetterStream(ctx: BusContext): Promise<void> {
  return ensureOwnedStream(ctx.jsm, deadLetterStreamSettings(ctx.config), ctx.log, 'dead-letter stream');
}

/** True when NATS is connected and the event stream answers. */
export async function streamReady(ctx: BusContext): Promise<boolean> {
  if (!ctx.connected) return false;
  try {
    await ctx.jsm.streams.info(ctx.config.STREAM_NAME);
    return true;
  } catch {
    return false;
  }
}

/** What the event stream holds now: where a replay from a position can start. */
export interface StreamBounds {
  firstSeq: number;
  lastSeq: number;
  /** When the oldest held event was stored (RFC 3339), if any. */
  firstTime: string | undefined;
}

export async function streamBounds(ctx: BusContext): Promise<StreamBounds> {
  const { state } = await ctx.jsm.streams.info(ctx.config.STREAM_NAME);
  return { firstSeq: state.first_seq, lastSeq: state.last_seq, firstTime: state.first_ts || undefined };
}
