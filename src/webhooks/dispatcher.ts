// The webhook deliveries of this instance. Every gateway instance runs one dispatcher, which watches
// the stored definitions (src/bus/webhooks.ts) and keeps one delivery running per active webhook:
// the delivery engine on the webhook's durable consumer with a WebhookSink
// (src/delivery/sinks/webhook.ts). JetStream shares each consumer's events among the instances
// pulling it, so every instance delivers, and an instance that dies mid-request loses nothing: its
// unsettled events are redelivered to the others after the consumer's ack wait.
//
// - A definition that becomes paused, disabled or deleted stops the delivery here (requests under
//   way finish first, up to WEBHOOK_TIMEOUT); one that changes its URL, secret, retry policy or
//   content mode updates the running sink; one that changes types, filter, max_in_flight or max_attempts
//   restarts it (the consumer's subjects and limits, read when the delivery opens, changed).
// - A 410 Gone marks the webhook disabled in the store, which stops it on every instance.
// - Attempts are buffered per webhook and stored about once a second, one batch per webhook.
import type { Logger } from 'pino';
import { WEBHOOK_DEFAULT_CONTENT_MODE } from '../../schemas/webhooks.ts';
import type { Bus, WebhookRecord } from '../bus/index.ts';
import type { Config } from '../config.ts';
import { compileContentFilter } from '../content-filter.ts';
import type { AckedDelivery } from '../delivery/engine.ts';
import { openWebhook } from '../delivery/open.ts';
import { type WebhookAttemptRecord, WebhookSink, type WebhookTarget } from '../delivery/sinks/webhook.ts';
import type { GatewayError } from '../errors.ts';
import type { WebhookAddressPolicy } from '../webhook-addresses.ts';
import { type StoredWebhook, storedOf, type Webhooks } from './webhooks.ts';

export type DispatcherSettings = Pick<
  Config,
  'WEBHOOK_CONNECT_TIMEOUT' | 'WEBHOOK_TIMEOUT' | 'WEBHOOK_MAX_RETRY_AFTER' | 'WEBHOOK_RESPONSE_MAX_BYTES'
>;

/** Attempts kept per webhook between two flushes (the newest). */
const ATTEMPT_BUFFER = 200;
const FLUSH_EVERY_MS = 1000;

interface Running {
  tenant: string;
  name: string;
  /** What a change of forces a restart (see shapeOf). */
  shape: string;
  sink: WebhookSink;
  delivery: AckedDelivery | undefined;
  stopped: boolean;
}

function targetOf(w: StoredWebhook): WebhookTarget {
  const previous =
    w.previous_secret && w.previous_secret_expires_at
      ? { secret: w.previous_secret, expiresAt: Date.parse(w.previous_secret_expires_at) }
      : undefined;
  return {
    url: new URL(w.url),
    secret: w.secret,
    previous,
    maxInFlight: w.max_in_flight,
    contentMode: w.content_mode ?? WEBHOOK_DEFAULT_CONTENT_MODE,
    retry: { maxAttempts: w.retry.max_attempts, initialBackoffMs: w.retry.initial_backoff, maxBackoffMs: w.retry.max_backoff },
  };
}

/** What the running delivery was opened with: its consumer's subjects and limits, the filter, the window. */
const shapeOf = (w: StoredWebhook) => JSON.stringify([w.types, w.filter ?? null, w.max_in_flight, w.retry.max_attempts]);

export class WebhookDispatcher {
  readonly #bus: Bus;
  readonly #webhooks: Webhooks;
  readonly #settings: DispatcherSettings;
  readonly #policy: WebhookAddressPolicy;
  readonly #log: Logger;
  readonly #running = new Map<string, Running>();
  /** Per webhook, the chain of its starts and stops (so they never overlap). */
  readonly #queue = new Map<string, Promise<void>>();
  readonly #attempts = new Map<string, { tenant: string; name: string; records: WebhookAttemptRecord[] }>();
  #unwatch: (() => void) | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(bus: Bus, webhooks: Webhooks, settings: DispatcherSettings, policy: WebhookAddressPolicy, log: Logger) {
    this.#bus = bus;
    this.#webhooks = webhooks;
    this.#settings = settings;
    this.#policy = policy;
    this.#log = log.child({ component: 'webhooks' });
  }

  /** Starts watching the definitions (call once the bus is ready). */
  start(): void {
    if (this.#stopped || this.#unwatch) return;
    this.#unwatch = this.#bus.webhooks.watch((tenant, name, record) => this.#apply(tenant, name, record));
    this.#flushTimer = setInterval(() => void this.#flush(), FLUSH_EVERY_MS);
    this.#flushTimer.unref();
  }

  /** How many webhooks this instance delivers now. */
  get size(): number {
    return this.#running.size;
  }

  #enqueue(key: string, step: () => Promise<void>): void {
    const next = (this.#queue.get(key) ?? Promise.resolve()).then(step).catch((err: unknown) => {
      this.#log.warn({ err, webhook: key }, 'webhook delivery change failed');
    });
    this.#queue.set(key, next);
    void next.then(() => {
      if (this.#queue.get(key) === next) this.#queue.delete(key);
    });
  }

  #apply(tenant: string, name: string, record: WebhookRecord | undefined): void {
    if (this.#stopped) return;
    const key = `${tenant}.${name}`;
    const w = record ? storedOf(record) : undefined;
    this.#enqueue(key, async () => {
      const running = this.#running.get(key);
      if (w?.state !== 'active') {
        if (running) await this.#stop(key, running, this.#settings.WEBHOOK_TIMEOUT);
        return;
      }
      // (A sink that got a 410 restarts: the webhook was resumed before its disabling reached us.)
      if (running && running.shape === shapeOf(w) && !running.sink.gone) {
        running.sink.update(targetOf(w));
        return;
      }
      if (running) await this.#stop(key, running, this.#settings.WEBHOOK_TIMEOUT);
      await this.#start(key, tenant, name, w);
    });
  }

  async #start(key: string, tenant: string, name: string, w: StoredWebhook): Promise<void> {
    const log = this.#log.child({ tenant, webhook: name });
    const running: Running = {
      tenant,
      name,
      shape: shapeOf(w),
      sink: undefined as unknown as WebhookSink,
      delivery: undefined,
      stopped: false,
    };
    running.sink = new WebhookSink(
      targetOf(w),
      {
        connectTimeoutMs: this.#settings.WEBHOOK_CONNECT_TIMEOUT,
        timeoutMs: this.#settings.WEBHOOK_TIMEOUT,
        maxRetryAfterMs: this.#settings.WEBHOOK_MAX_RETRY_AFTER,
        responseMaxBytes: this.#settings.WEBHOOK_RESPONSE_MAX_BYTES,
        policy: this.#policy,
      },
      {
        attempt: (a) => this.#record(tenant, name, a),
        gone: (reason) => this.#gone(tenant, name, reason, log),
        failed: (err) => this.#failed(key, running, err, log),
      },
    );
    this.#running.set(key, running);
    const content = w.filter === undefined ? undefined : compileContentFilter(w.filter);
    // The consumer is made before the definition is stored; until NATS answers, try again.
    for (let attempt = 0; !running.stopped && !this.#stopped; attempt++) {
      try {
        running.delivery = await openWebhook(this.#bus, tenant, name, { content }, w.max_in_flight, running.sink, log);
        break;
      } catch (err) {
        log.warn({ err, attempt }, 'could not open the webhook delivery; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))).unref());
      }
    }
    if (!running.delivery) return;
    if (running.stopped || this.#stopped) {
      await running.delivery.stop();
      return;
    }
    running.delivery.run();
    log.info({ url: w.url, max_in_flight: w.max_in_flight }, 'webhook delivery started');
  }

  async #stop(key: string, running: Running, waitMs: number): Promise<void> {
    running.stopped = true;
    if (this.#running.get(key) === running) this.#running.delete(key);
    // No new event is taken; what is under way finishes (and acks), the rest goes back.
    await running.sink.close(waitMs);
    await running.delivery?.stop();
    this.#log.info({ tenant: running.tenant, webhook: running.name }, 'webhook delivery stopped');
  }

  #gone(tenant: string, name: string, reason: string, log: Pick<Logger, 'warn'>): void {
    log.warn({ reason }, 'the receiver answered 410 Gone: disabling the webhook');
    this.#webhooks.setState(tenant, name, 'disabled', reason).catch((err: unknown) => {
      log.warn({ err }, 'could not disable the webhook');
    });
  }

  /** The consumer went away under the delivery (deleted, or lost with NATS storage): try again later. */
  #failed(key: string, running: Running, err: GatewayError, log: Pick<Logger, 'warn'>): void {
    log.warn({ err: err.message }, 'webhook delivery failed; restarting it');
    this.#enqueue(key, async () => {
      if (this.#running.get(key) !== running) return;
      await this.#stop(key, running, 0);
      await new Promise((r) => setTimeout(r, 1000).unref());
      const record = await this.#bus.webhooks.get(running.tenant, running.name);
      if (!record || this.#stopped) return;
      const w = storedOf(record);
      if (w.state !== 'active' || this.#running.has(key)) return;
      await this.#start(key, running.tenant, running.name, w);
    });
  }

  #record(tenant: string, name: string, a: WebhookAttemptRecord): void {
    const key = `${tenant}.${name}`;
    let buf = this.#attempts.get(key);
    if (!buf) {
      buf = { tenant, name, records: [] };
      this.#attempts.set(key, buf);
    }
    buf.records.push(a);
    if (buf.records.length > ATTEMPT_BUFFER) buf.records.splice(0, buf.records.length - ATTEMPT_BUFFER);
  }

  async #flush(): Promise<void> {
    const batches = [...this.#attempts.values()];
    this.#attempts.clear();
    await Promise.all(
      batches.map((b) =>
        this.#bus.webhooks.appendAttempts(b.tenant, b.name, b.records).catch((err: unknown) => {
          this.#log.debug({ err, webhook: b.name }, 'could not record webhook attempts');
        }),
      ),
    );
  }

  /** Stops every delivery here (requests under way get up to `waitMs`), then records the last attempts. */
  async stop(waitMs: number): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    clearInterval(this.#flushTimer);
    await Promise.all([...this.#running].map(([key, r]) => this.#stop(key, r, waitMs)));
    await Promise.all([...this.#queue.values()]);
    await this.#flush();
  }
}
