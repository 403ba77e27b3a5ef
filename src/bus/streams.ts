// The streams the gateway owns (events, dead letters): created at start and after a reconnect, or
// brought in line with the settings the gateway owns, however many instances do it at once.
import { JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { Logger } from 'pino';

/** The settings of a stream the gateway owns; any other setting is left as the operator set it. */
export type OwnedStreamSettings = Partial<StreamConfig> & { name: string; subjects: string[] };

/**
 * Creates the stream, or updates the owned settings that differ. Safe when instances race: one
 * that loses the create (10058) goes round and updates instead. `label` names it in the log.
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
      if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err; // 10059: stream not found
    }
    try {
      await jsm.streams.add(wanted);
      log.info({ stream: wanted.name, subjects: wanted.subjects }, `${label} created`);
      return;
    } catch (err) {
      // 10058: another instance created it between our info and add: go round and update instead.
      if (!(err instanceof JetStreamApiError) || err.code !== 10058) throw err;
    }
  }
}
