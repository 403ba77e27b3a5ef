// Webhook subscriptions as the API manages them (`app.webhooks`): create or update, read, list,
// pause / resume, rotate the secret, delete, recent attempts. A definition is one JSON value in
// the bus's webhook store (src/bus/webhooks.ts), changed by compare-and-set so two requests on two
// instances cannot lose each other's change; every instance's dispatcher (dispatcher.ts) watches
// the store and delivers the active ones. The webhook's consumer is created before its definition
// is stored, so `from: "new"` starts at the PUT and a dispatcher never sees a definition without one.
import { randomBytes } from 'node:crypto';
import type { StartPosition } from '../../schemas/stream-selection.ts';
import {
  WEBHOOK_DEFAULT_CONTENT_MODE,
  WEBHOOK_DEFAULT_INITIAL_BACKOFF_MS,
  WEBHOOK_DEFAULT_MAX_ATTEMPTS,
  WEBHOOK_DEFAULT_MAX_BACKOFF_MS,
  WEBHOOK_DEFAULT_MAX_IN_FLIGHT,
  type Webhook,
  type WebhookAttempt,
  type WebhookContentMode,
  type WebhookCreated,
  type WebhookDefinition,
  type WebhookSecret,
  type WebhookState,
} from '../../schemas/webhooks.ts';
import type { Bus, WebhookPosition, WebhookRecord } from '../bus/index.ts';
import type { Config } from '../config.ts';
import { compileContentFilter } from '../content-filter.ts';
import { GatewayError } from '../errors.ts';
import type { WebhookAddressPolicy } from '../webhook-addresses.ts';

/** A webhook's definition as stored (one JSON value per tenant and name). */
export interface StoredWebhook {
  url: string;
  types: string[];
  filter?: Record<string, unknown>;
  from: StartPosition;
  max_in_flight: number;
  retry: { max_attempts: number; initial_backoff: number; max_backoff: number };
  /** Absent in definitions stored before content modes existed: `envelope`. */
  content_mode?: WebhookContentMode;
  state: WebhookState;
  state_reason?: string;
  state_changed_at: string;
  secret: string;
  previous_secret?: string;
  previous_secret_expires_at?: string;
  created: string;
  updated: string;
}

export type WebhookSettings = Pick<Config, 'WEBHOOK_TIMEOUT' | 'WEBHOOK_SECRET_ROTATION_WINDOW' | 'WEBHOOK_MAX_PER_TENANT'>;

/** `whsec_` + base64 of 32 random bytes (Standard Webhooks' secret format). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** How long an event may stay unsettled before JetStream gives it to another instance. */
export function webhookAckWaitMs(settings: Pick<Config, 'WEBHOOK_TIMEOUT'>): number {
  return Math.min(12 * 3_600_000, settings.WEBHOOK_TIMEOUT + 5000);
}

export function storedOf(record: WebhookRecord): StoredWebhook {
  return record.value as unknown as StoredWebhook;
}

function describe(name: string, w: StoredWebhook, position: WebhookPosition | undefined): Webhook {
  const pending = position?.pending ?? 0;
  const inFlight = position?.unacked ?? 0;
  const out: Webhook = {
    name,
    url: w.url,
    types: w.types,
    from: w.from,
    max_in_flight: w.max_in_flight,
    retry: w.retry,
    content_mode: w.content_mode ?? WEBHOOK_DEFAULT_CONTENT_MODE,
    state: w.state,
    state_changed_at: w.state_changed_at,
    pending,
    in_flight: inFlight,
    lag: pending + inFlight,
    last_delivered_seq: position?.lastDeliveredSeq ?? 0,
    created: w.created,
    updated: w.updated,
  };
  if (w.filter !== undefined) out.filter = w.filter as Webhook['filter'];
  if (w.state_reason !== undefined) out.state_reason = w.state_reason;
  if (w.previous_secret_expires_at !== undefined && Date.parse(w.previous_secret_expires_at) > Date.now()) {
    out.previous_secret_expires_at = w.previous_secret_expires_at;
  }
  return out;
}

export class Webhooks {
  readonly #bus: Bus;
  readonly #settings: WebhookSettings;
  readonly #policy: WebhookAddressPolicy;

  constructor(bus: Bus, settings: WebhookSettings, policy: WebhookAddressPolicy) {
    this.#bus = bus;
    this.#settings = settings;
    this.#policy = policy;
  }

  async #record(tenant: string, name: string): Promise<WebhookRecord> {
    const record = await this.#bus.webhooks.get(tenant, name);
    if (!record) throw new GatewayError('GW_NOT_FOUND', `No webhook "${name}"`);
    return record;
  }

  async #describe(tenant: string, name: string, w: StoredWebhook): Promise<Webhook> {
    return describe(name, w, await this.#bus.webhookPosition(tenant, name));
  }

  /** Changes the stored definition by compare-and-set, retrying a few times when it changed meanwhile. */
  async #modify(tenant: string, name: string, change: (w: StoredWebhook) => StoredWebhook): Promise<StoredWebhook> {
    for (let tries = 0; ; tries++) {
      const record = await this.#record(tenant, name);
      const next = change(structuredClone(storedOf(record)));
      try {
        await this.#bus.webhooks.update(tenant, name, next as unknown as Record<string, unknown>, record.revision);
        return next;
      } catch (err) {
        if (!(err instanceof GatewayError && err.code === 'GW_CONFLICT') || tries >= 4) throw err;
      }
    }
  }

  /** Creates the webhook (with a new secret) or updates its definition; the secret, state and position stay. */
  async put(
    tenant: string,
    name: string,
    body: WebhookDefinition,
  ): Promise<{ created: true; webhook: WebhookCreated } | { created: false; webhook: Webhook }> {
    if (body.filter !== undefined) compileContentFilter(body.filter, { pointer: '/filter' });
    const url = await this.#policy.check(body.url);
    const retry = {
      max_attempts: body.retry?.max_attempts ?? WEBHOOK_DEFAULT_MAX_ATTEMPTS,
      initial_backoff: body.retry?.initial_backoff ?? WEBHOOK_DEFAULT_INITIAL_BACKOFF_MS,
      max_backoff: body.retry?.max_backoff ?? WEBHOOK_DEFAULT_MAX_BACKOFF_MS,
    };
    if (retry.max_backoff < retry.initial_backoff) {
      throw new GatewayError('GW_VALIDATION_FAILED', 'The webhook definition is invalid', {
        errors: [{ pointer: '/retry/max_backoff', message: 'must be at least initial_backoff' }],
      });
    }
    const types = [...new Set(body.types)].sort();
    const maxInFlight = body.max_in_flight ?? WEBHOOK_DEFAULT_MAX_IN_FLIGHT;
    const existing = await this.#bus.webhooks.get(tenant, name);
    const from = existing ? storedOf(existing).from : (body.from ?? 'new');
    if (!existing) {
      const count = (await this.#bus.webhooks.list(tenant)).length;
      if (count >= this.#settings.WEBHOOK_MAX_PER_TENANT) {
        throw new GatewayError(
          'GW_CONFLICT',
          `The tenant has ${count} webhooks, the most allowed (WEBHOOK_MAX_PER_TENANT); delete one first`,
        );
      }
    }
    await this.#bus.ensureWebhookConsumer(tenant, name, {
      types,
      from,
      maxInFlight,
      maxAttempts: retry.max_attempts,
      ackWaitMs: webhookAckWaitMs(this.#settings),
    });
    const now = new Date().toISOString();
    // A PUT states the whole definition: an update without content_mode goes back to the default.
    const contentMode = body.content_mode ?? WEBHOOK_DEFAULT_CONTENT_MODE;
    const definition = { url: url.href, types, from, max_in_flight: maxInFlight, retry, content_mode: contentMode } as const;
    if (!existing) {
      const stored: StoredWebhook = {
        ...definition,
        ...(body.filter === undefined ? {} : { filter: body.filter as Record<string, unknown> }),
        state: 'active',
        state_changed_at: now,
        secret: newSecret(),
        created: now,
        updated: now,
      };
      await this.#bus.webhooks.create(tenant, name, stored as unknown as Record<string, unknown>);
      return { created: true, webhook: { ...(await this.#describe(tenant, name, stored)), secret: stored.secret } };
    }
    const stored = await this.#modify(tenant, name, (w) => {
      const next: StoredWebhook = { ...w, ...definition, updated: now };
      if (body.filter === undefined) delete next.filter;
      else next.filter = body.filter as Record<string, unknown>;
      return next;
    });
    return { created: false, webhook: await this.#describe(tenant, name, stored) };
  }

  async get(tenant: string, name: string): Promise<Webhook> {
    const record = await this.#record(tenant, name);
    return this.#describe(tenant, name, storedOf(record));
  }

  async list(tenant: string): Promise<Webhook[]> {
    const records = await this.#bus.webhooks.list(tenant);
    return Promise.all(records.map((r) => this.#describe(tenant, r.name, storedOf(r))));
  }

  /** Deletes the definition (every instance stops), then the consumer and the attempts; false when there was none. */
  async delete(tenant: string, name: string): Promise<boolean> {
    const record = await this.#bus.webhooks.get(tenant, name);
    await this.#bus.webhooks.delete(tenant, name);
    const hadConsumer = await this.#bus.deleteWebhookConsumer(tenant, name);
    await this.#bus.webhooks.forgetAttempts(tenant, name).catch(() => undefined);
    return record !== undefined || hadConsumer;
  }

  async setState(tenant: string, name: string, state: WebhookState, reason?: string): Promise<Webhook> {
    const stored = await this.#modify(tenant, name, (w) => {
      if (w.state === state && w.state_reason === reason) return w;
      const next: StoredWebhook = { ...w, state, state_changed_at: new Date().toISOString() };
      if (reason === undefined) delete next.state_reason;
      else next.state_reason = reason;
      return next;
    });
    return this.#describe(tenant, name, stored);
  }

  /** A new secret; the current one keeps signing for WEBHOOK_SECRET_ROTATION_WINDOW. */
  async rotateSecret(tenant: string, name: string): Promise<WebhookSecret> {
    const secret = newSecret();
    const expires = new Date(Date.now() + this.#settings.WEBHOOK_SECRET_ROTATION_WINDOW).toISOString();
    await this.#modify(tenant, name, (w) => ({
      ...w,
      secret,
      previous_secret: w.secret,
      previous_secret_expires_at: expires,
      updated: new Date().toISOString(),
    }));
    return { name, secret, previous_secret_expires_at: expires };
  }

  /** The most recent attempts (any instance), newest first. */
  async attempts(tenant: string, name: string, limit: number): Promise<WebhookAttempt[]> {
    await this.#record(tenant, name);
    const all = (await this.#bus.webhooks.readAttempts(tenant, name)) as WebhookAttempt[];
    return all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.attempt - a.attempt)).slice(0, limit);
  }
}
