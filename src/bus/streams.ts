// The streams the gateway owns (events, dead letters, redeemed WebSocket tickets): their settings,
// created at start and after a reconnect, however many instances do it at once; and what the
// delivery side needs to know of the event stream's state.
//
// Settings drift (several instances, or one restarted with other settings): the RUNNING stream is
// the truth. Each owned setting is one of
// - required: the gateway does not work without it (its subjects, the republish the live feed
//   reads, direct gets for history and dead-letter reads, a ticket window as long as the tickets
//   live). A running stream that lacks it is corrected at once, whatever STREAM_UPDATE says: any
//   instance would break (publishes without a stream, a silent live feed, 503 on every history read,
//   a reused ticket accepted) and every instance wants the same value.
// - preferred: retention and placement an operator may have chosen on purpose (max age, max bytes,
//   replicas, duplicate window, discard). The event stream's duplicate window is one of them: a
//   shorter one only narrows the time in which a retried publish is stored once, every instance
//   still works, and instances disagreeing must not flip it back and forth. A difference is logged once as one warning naming each
//   differing setting (wanted and running) and the stream is left alone, unless STREAM_UPDATE=true
//   asks for this instance's values. Lowering replicas is a preferred change like the others
//   (so never silent): only with STREAM_UPDATE=true, and then logged at warn.
// - fixed: the storage type, which JetStream cannot change on a running stream; a difference is
//   only reported.
// Creating a missing stream uses this instance's settings.
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BusConfig, BusContext } from './context.ts';
import { isApiError, JetStreamApiCodes } from './errors.ts';
import { deadLetterSubjects, liveSubjects, redriveSubjects, streamSubjects, ticketSubject } from './subjects.ts';

/** How a running stream's setting that differs from this instance's is treated (see above). */
export type SettingPolicy = 'required' | 'preferred' | 'fixed';

/** The settings of a stream the gateway owns; any other setting is left as the operator set it. */
export type OwnedStreamSettings = Partial<StreamConfig> & { name: string; subjects: string[] };

/** A stream the gateway owns: its settings, and for each the policy and the setting that configures it. */
export interface OwnedStream {
  settings: OwnedStreamSettings;
  /** Per owned key (except `name`): how a difference is treated, and the environment variable behind it (for the log). */
  policy: Partial<Record<keyof OwnedStreamSettings, { policy: SettingPolicy; setting?: string }>>;
  /**
   * Keys where a running value at least as large as the wanted one is fine (a longer ticket window
   * serves every instance; a shorter one breaks single use).
   */
  atLeast?: (keyof OwnedStreamSettings)[];
}

const storageOf = (config: BusConfig) => (config.STREAM_STORAGE === 'memory' ? StorageType.Memory : StorageType.File);

/** The event stream's settings the gateway owns; anything else an operator set on the stream is kept. */
export function streamSettings(config: BusConfig): OwnedStreamSettings {
  return eventStream(config).settings;
}

export function eventStream(config: BusConfig): OwnedStream {
  const prefix = config.STREAM_SUBJECT_PREFIX;
  return {
    settings: {
      name: config.STREAM_NAME,
      // `<prefix>_redrive.<tenant>.<consumer>` carries dead letters put back to one durable consumer.
      subjects: [streamSubjects(prefix), redriveSubjects(prefix)],
      max_age: nanos(config.STREAM_MAX_AGE),
      max_bytes: config.STREAM_MAX_BYTES,
      num_replicas: config.STREAM_REPLICAS,
      duplicate_window: nanos(config.STREAM_DUPLICATE_WINDOW),
      storage: storageOf(config),
      discard: DiscardPolicy.Old,
      // Direct gets let any replica answer history reads without a consumer.
      allow_direct: true,
      // Every STORED event is republished to `<prefix>_live.…` (with its Nats-Sequence), which the
      // live feed subscribes to: a deduplicated retry is never seen twice by a live reader.
      republish: { src: streamSubjects(prefix), dest: liveSubjects(prefix) },
    },
    policy: {
      subjects: { policy: 'required', setting: 'STREAM_SUBJECT_PREFIX' },
      republish: { policy: 'required', setting: 'STREAM_SUBJECT_PREFIX' },
      allow_direct: { policy: 'required' },
      max_age: { policy: 'preferred', setting: 'STREAM_MAX_AGE' },
      max_bytes: { policy: 'preferred', setting: 'STREAM_MAX_BYTES' },
      num_replicas: { policy: 'preferred', setting: 'STREAM_REPLICAS' },
      duplicate_window: { policy: 'preferred', setting: 'STREAM_DUPLICATE_WINDOW' },
      discard: { policy: 'preferred' },
      storage: { policy: 'fixed', setting: 'STREAM_STORAGE' },
    },
  };
}

export function deadLetterStreamSettings(config: BusConfig): OwnedStreamSettings {
  return deadLetterStream(config).settings;
}

export function deadLetterStream(config: BusConfig): OwnedStream {
  return {
    settings: {
      name: config.DEAD_LETTER_STREAM,
      subjects: [deadLetterSubjects(config.STREAM_SUBJECT_PREFIX)],
      max_age: nanos(config.DEAD_LETTER_MAX_AGE),
      num_replicas: config.STREAM_REPLICAS,
      storage: storageOf(config),
      discard: DiscardPolicy.Old,
      allow_direct: true,
    },
    policy: {
      subjects: { policy: 'required', setting: 'STREAM_SUBJECT_PREFIX' },
      // Dead letters are listed and redriven with direct gets.
      allow_direct: { policy: 'required' },
      max_age: { policy: 'preferred', setting: 'DEAD_LETTER_MAX_AGE' },
      num_replicas: { policy: 'preferred', setting: 'STREAM_REPLICAS' },
      discard: { policy: 'preferred' },
      storage: { policy: 'fixed', setting: 'STREAM_STORAGE' },
    },
  };
}

/** The stream of redeemed WebSocket ticket nonces (see ticket-store.ts). */
export function ticketStreamName(config: Pick<BusConfig, 'STREAM_NAME'>): string {
  return `${config.STREAM_NAME}_WS_TICKETS`;
}

/**
 * Redeemed ticket nonces: file storage and the event stream's replica count, so single use survives
 * a nats-server restart and redemptions work while a quorum is up. Used nonces only need
 * remembering while their ticket could still be presented: twice the ticket lifetime.
 */
export function ticketStream(config: BusConfig): OwnedStream {
  const window = nanos(config.WS_TICKET_TTL * 2);
  return {
    settings: {
      name: ticketStreamName(config),
      subjects: [ticketSubject(config.STREAM_SUBJECT_PREFIX, '>')],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: window,
      duplicate_window: window,
      num_replicas: config.STREAM_REPLICAS,
      discard: DiscardPolicy.Old,
    },
    policy: {
      subjects: { policy: 'required', setting: 'STREAM_SUBJECT_PREFIX' },
      // A window shorter than a ticket's life would accept a used ticket again.
      max_age: { policy: 'required', setting: 'WS_TICKET_TTL' },
      duplicate_window: { policy: 'required', setting: 'WS_TICKET_TTL' },
      retention: { policy: 'required' },
      num_replicas: { policy: 'preferred', setting: 'STREAM_REPLICAS' },
      discard: { policy: 'preferred' },
      storage: { policy: 'fixed' },
    },
    atLeast: ['max_age', 'duplicate_window'],
  };
}

const NS_PER_MS = 1_000_000;
const DURATION_KEYS = new Set<string>(['max_age', 'duplicate_window']);
const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** A setting's value as the log shows it: durations as `7d`, `90s`, `250ms`. */
function shown(key: string, value: unknown): unknown {
  if (!DURATION_KEYS.has(key) || typeof value !== 'number') return value;
  const ms = value / NS_PER_MS;
  if (ms === 0) return '0';
  for (const [unit, size] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** What differs between the running stream and this instance's settings, by policy. */
export interface StreamDrift {
  key: keyof OwnedStreamSettings;
  setting: string | undefined;
  policy: SettingPolicy;
  wanted: unknown;
  running: unknown;
}

export function streamDrift(owned: OwnedStream, running: StreamConfig): StreamDrift[] {
  const out: StreamDrift[] = [];
  for (const key of Object.keys(owned.settings) as (keyof OwnedStreamSettings)[]) {
    if (key === 'name') continue;
    const wanted = owned.settings[key];
    const current = running[key as keyof StreamConfig];
    if (same(current, wanted)) continue;
    if (owned.atLeast?.includes(key) && typeof current === 'number' && typeof wanted === 'number' && current >= wanted) continue;
    const p = owned.policy[key] ?? { policy: 'preferred' as const };
    out.push({ key, setting: p.setting, policy: p.policy, wanted, running: current });
  }
  return out;
}

/** Streams (by connection) whose drift this process already warned about, so a reconnect does not repeat it. */
const warned = new WeakMap<JetStreamManager, Map<string, string>>();

function describeDrift(d: StreamDrift[]): string {
  return d
    .map(
      (x) =>
        `${x.key}${x.setting ? ` (${x.setting})` : ''} wanted ${JSON.stringify(shown(x.key, x.wanted))}, running ${JSON.stringify(shown(x.key, x.running))}`,
    )
    .join('; ');
}

/**
 * Creates the stream with this instance's settings, or brings a running one's required settings in
 * line; preferred settings that differ are changed only when `update` (STREAM_UPDATE) is set, and
 * otherwise logged once as a warning. Safe when instances race: one that loses the create (stream
 * name in use) goes round. `label` names it in the log.
 */
export async function ensureOwnedStream(
  jsm: JetStreamManager,
  owned: OwnedStream,
  log: Logger,
  label: string,
  update = false,
): Promise<void> {
  const wanted = owned.settings;
  for (let tries = 0; tries < 3; tries++) {
    try {
      const current = (await jsm.streams.info(wanted.name)).config;
      const drift = streamDrift(owned, current);
      const required = drift.filter((d) => d.policy === 'required');
      const preferred = drift.filter((d) => d.policy === 'preferred');
      const fixed = drift.filter((d) => d.policy === 'fixed');
      const applied = update ? [...required, ...preferred] : required;
      if (applied.length > 0) {
        const changes = Object.fromEntries(applied.map((d) => [d.key, d.wanted]));
        const lowered = applied.find((d) => d.key === 'num_replicas' && (d.wanted as number) < (d.running as number));
        if (lowered) {
          log.warn(
            { stream: wanted.name, wanted: lowered.wanted, running: lowered.running },
            `${label} ${wanted.name}: lowering its replicas from ${lowered.running} to ${lowered.wanted} (STREAM_UPDATE=true)`,
          );
        }
        await jsm.streams.update(wanted.name, { ...current, ...changes });
        log.info({ stream: wanted.name, changed: applied.map((d) => d.key) }, `${label} updated: ${describeDrift(applied)}`);
      }
      const kept = [...(update ? [] : preferred), ...fixed];
      const seen = warned.get(jsm) ?? new Map<string, string>();
      warned.set(jsm, seen);
      const signature = JSON.stringify(kept);
      if (kept.length > 0 && seen.get(wanted.name) !== signature) {
        log.warn(
          {
            stream: wanted.name,
            differing: Object.fromEntries(
              kept.map((d) => [d.setting ?? d.key, { key: d.key, wanted: shown(d.key, d.wanted), running: shown(d.key, d.running) }]),
            ),
          },
          `${label} ${wanted.name} runs with settings other than this instance's; keeping the running stream (${describeDrift(kept)})` +
            (fixed.length > 0 ? '; the storage type cannot be changed on a running stream' : '') +
            (!update && preferred.length > 0 ? '; set STREAM_UPDATE=true on one instance to apply its settings' : ''),
        );
      }
      seen.set(wanted.name, signature);
      return;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    try {
      await jsm.streams.add(wanted);
      log.info({ stream: wanted.name, subjects: wanted.subjects }, `${label} created`);
      return;
    } catch (err) {
      // Another instance created it between our info and add: go round and compare instead.
      if (!isApiError(err, JetStreamApiCodes.StreamNameInUse)) throw err;
    }
  }
}

export function ensureEventStream(ctx: BusContext): Promise<void> {
  return ensureOwnedStream(ctx.jsm, eventStream(ctx.config), ctx.log, 'stream', ctx.config.STREAM_UPDATE);
}

/** Creates the dead-letter stream, or checks the running one (see ensureOwnedStream). Safe when instances race. */
export function ensureDeadLetterStream(ctx: BusContext): Promise<void> {
  return ensureOwnedStream(ctx.jsm, deadLetterStream(ctx.config), ctx.log, 'dead-letter stream', ctx.config.STREAM_UPDATE);
}

/**
 * Creates the ticket stream, or checks the running one. A ticket stream of an older gateway
 * (memory storage, which JetStream cannot change to file) is replaced: the nonces it held are
 * lost with it, as they would be in any restart of its server.
 */
export async function ensureTicketStream(ctx: BusContext): Promise<void> {
  const owned = ticketStream(ctx.config);
  try {
    const running = (await ctx.jsm.streams.info(owned.settings.name)).config;
    if (running.storage !== StorageType.File) {
      ctx.log.warn(
        { stream: owned.settings.name },
        'replacing the memory-stored WebSocket ticket stream of an older gateway with a file-stored one',
      );
      await ctx.jsm.streams.delete(owned.settings.name).catch((err: unknown) => {
        if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      });
    }
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  await ensureOwnedStream(ctx.jsm, owned, ctx.log, 'ticket stream', ctx.config.STREAM_UPDATE);
}

/** Every stream the gateway owns, created or checked (at start and after each reconnect). */
export async function ensureStreams(ctx: BusContext): Promise<void> {
  await Promise.all([ensureEventStream(ctx), ensureDeadLetterStream(ctx), ensureTicketStream(ctx)]);
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
