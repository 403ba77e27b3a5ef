// The gateway's Prometheus metrics (prom-client): one Registry per app instance, never the
// library's global one, so tests that build several apps in one process do not clash. Every
// metric name lives here (deploy/grafana-dashboard.json and docs/observability.md use the same).
// Hot paths call pre-bound label children (`eventsPublished(tenant).stored.inc()`), cached per
// label value, so counting an event allocates nothing.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from './config.ts';

/** What a hot path increments: a prom-client child bound to its labels. */
export interface Inc {
  inc(n?: number): void;
}

export interface PublishCounters {
  stored: Inc;
  duplicate: Inc;
  rejected: Inc;
}

/** The delivery engine's counters of one sink (src/delivery/observe.ts). */
export interface DeliveryCounters {
  delivered: Inc;
  redelivered: Inc;
  acked: Inc;
  nakked: Inc;
  deadLettered: Inc;
}

export type MetricsConfig = Pick<Config, 'METRICS_TENANT_LABEL' | 'METRICS_TENANT_LABEL_MAX'>;

/** One consumer's sampled counts (Bus.sampleConsumers). */
export interface ConsumerSample {
  tenant: string;
  consumer: string;
  pending: number;
  ackPending: number;
}

/** The label value for tenants beyond METRICS_TENANT_LABEL_MAX. */
export const OTHER_TENANT = 'other';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #withTenant: boolean;
  readonly #maxTenants: number;
  /** Tenants that have a label value of their own (the first METRICS_TENANT_LABEL_MAX seen). */
  readonly #tenants = new Set<string>();

  readonly #httpDuration: Histogram<'route' | 'method' | 'status_class'>;
  readonly #http = new Map<string, Map<string, Histogram.Internal<'route' | 'method' | 'status_class'>[]>>();
  readonly #published: Counter<string>;
  readonly #publishedBy = new Map<string, PublishCounters>();
  readonly #rateLimited: Counter<string>;
  readonly #rateLimitedBy = new Map<string, Map<string, Inc>>();
  readonly #deliveryBy = new Map<string, DeliveryCounters>();
  readonly #deliveries: Counter<'sink'>;
  readonly #redeliveries: Counter<'sink'>;
  readonly #acks: Counter<'sink'>;
  readonly #naks: Counter<'sink'>;
  readonly #deadLettered: Counter<'sink'>;
  readonly #consumerPending: Gauge<'tenant' | 'consumer'>;
  readonly #consumerAckPending: Gauge<'tenant' | 'consumer'>;
  readonly #consumersSampled: Gauge;
  /** JetStream publish acknowledgement latency, in seconds. */
  readonly publishAck: Histogram;
  readonly batchSize: Histogram;
  readonly natsReconnects: Counter;
  readonly natsDisconnects: Counter;

  constructor(config: MetricsConfig) {
    this.#withTenant = config.METRICS_TENANT_LABEL === 'tenant';
    this.#maxTenants = config.METRICS_TENANT_LABEL_MAX;
    const registers = [this.registry];
    const tenantLabels = (...rest: string[]) => (this.#withTenant ? ['tenant', ...rest] : rest);
    this.#httpDuration = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#published = new Counter({
      name: 'gateway_events_published_total',
      help: 'Events a publish request asked to store, by outcome: stored, duplicate (deduplicated by event id) or rejected (refused or failed).',
      labelNames: tenantLabels('outcome'),
      registers,
    });
    this.publishAck = new Histogram({
      name: 'gateway_publish_ack_duration_seconds',
      help: 'Time from sending an event to JetStream until its publish acknowledgement arrived.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'gateway_batch_size_events',
      help: 'Events per POST /v1/events/batch request.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests (or WebSocket upgrades) refused by a quota, by the limit that refused them.',
      labelNames: tenantLabels('limit'),
      registers,
    });
    const bySink = (name: string, help: string) => new Counter({ name, help, labelNames: ['sink'] as const, registers });
    this.#deliveries = bySink(
      'gateway_deliveries_total',
      'Events handed to a sink (WebSocket frame, fetch answer, …), redeliveries included.',
    );
    this.#redeliveries = bySink(
      'gateway_redeliveries_total',
      'Deliveries of an event that was delivered before (JetStream redelivered it).',
    );
    this.#acks = bySink('gateway_delivery_acks_total', 'Deliveries acknowledged (by the client, or by the gateway once written).');
    this.#naks = bySink(
      'gateway_delivery_naks_total',
      'Deliveries negatively acknowledged (redelivery asked for, failed writes, stopped deliveries).',
    );
    this.#deadLettered = bySink(
      'gateway_dead_lettered_total',
      'Events dead-lettered instead of delivered (max deliveries exhausted, or undecodable).',
    );
    this.#consumerPending = new Gauge({
      name: 'gateway_consumer_pending_messages',
      help: "Events not yet delivered by one of the gateway's durable consumers (sampled every METRICS_CONSUMER_SAMPLE_INTERVAL).",
      labelNames: ['tenant', 'consumer'],
      registers,
    });
    this.#consumerAckPending = new Gauge({
      name: 'gateway_consumer_ack_pending_messages',
      help: "Events delivered and not yet acknowledged by one of the gateway's durable consumers (sampled).",
      labelNames: ['tenant', 'consumer'],
      registers,
    });
    this.#consumersSampled = new Gauge({
      name: 'gateway_consumers_sampled',
      help: 'Durable consumers read by the last sample (at most METRICS_CONSUMER_SAMPLE_MAX).',
      registers,
    });
    this.natsReconnects = new Counter({ name: 'gateway_nats_reconnects_total', help: 'Reconnections to NATS.', registers });
    this.natsDisconnects = new Counter({ name: 'gateway_nats_disconnects_total', help: 'Losses of the NATS connection.', registers });
  }

  /** Node's default process metrics (CPU, memory, event loop lag, GC, handles) on this registry. */
  collectDefaults(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge read when scraped (connection state, WebSocket counts): nothing to keep up to date. */
  gaugeOnScrape(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A gauge by one label, read when scraped; labels missing from `read`'s answer drop out. */
  labelledGaugeOnScrape(name: string, help: string, label: string, read: () => Map<string, number>): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, n] of read()) this.set({ [label]: value }, n);
      },
    });
  }

  /** The tenant label value: the tenant, or `other` once METRICS_TENANT_LABEL_MAX tenants have their own. */
  tenantLabel(tenant: string): string {
    if (this.#tenants.has(tenant)) return tenant;
    if (this.#tenants.size < this.#maxTenants) {
      this.#tenants.add(tenant);
      return tenant;
    }
    return OTHER_TENANT;
  }

  /** The counters of events a tenant published (no tenant label with METRICS_TENANT_LABEL=none). */
  eventsPublished(tenant: string): PublishCounters {
    const key = this.#withTenant ? this.tenantLabel(tenant) : '';
    let c = this.#publishedBy.get(key);
    if (!c) {
      const bind = (outcome: string) => this.#published.labels(...(this.#withTenant ? [key, outcome] : [outcome]));
      c = { stored: bind('stored'), duplicate: bind('duplicate'), rejected: bind('rejected') };
      this.#publishedBy.set(key, c);
    }
    return c;
  }

  /** One request refused by a quota (`limit` names it, e.g. `publish`, `connections`). */
  rateLimited(tenant: string, limit: string): void {
    const key = this.#withTenant ? this.tenantLabel(tenant) : '';
    let byLimit = this.#rateLimitedBy.get(key);
    if (!byLimit) {
      byLimit = new Map();
      this.#rateLimitedBy.set(key, byLimit);
    }
    let c = byLimit.get(limit);
    if (!c) {
      c = this.#rateLimited.labels(...(this.#withTenant ? [key, limit] : [limit]));
      byLimit.set(limit, c);
    }
    c.inc();
  }

  /** One HTTP answer: `route` is the route template (`/v1/consumers/:name`), not the URL. */
  observeHttp(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.#http.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.#http.set(route, byMethod);
    }
    let byClass = byMethod.get(method);
    if (!byClass) {
      byClass = STATUS_CLASSES.map((c) => this.#httpDuration.labels(route, method, c));
      byMethod.set(method, byClass);
    }
    const cls = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    (byClass[cls] as Histogram.Internal<'route' | 'method' | 'status_class'>).observe(seconds);
  }

  /** The delivery counters of one sink kind (`websocket`, `http-fetch`, …). */
  deliveryCounters(sink: string): DeliveryCounters {
    let c = this.#deliveryBy.get(sink);
    if (!c) {
      c = {
        delivered: this.#deliveries.labels(sink),
        redelivered: this.#redeliveries.labels(sink),
        acked: this.#acks.labels(sink),
        nakked: this.#naks.labels(sink),
        deadLettered: this.#deadLettered.labels(sink),
      };
      this.#deliveryBy.set(sink, c);
    }
    return c;
  }

  /** Replaces the consumer gauges with a new sample (consumers gone since drop out). */
  recordConsumerSample(samples: readonly ConsumerSample[]): void {
    this.#consumerPending.reset();
    this.#consumerAckPending.reset();
    for (const s of samples) {
      this.#consumerPending.labels(s.tenant, s.consumer).set(s.pending);
      this.#consumerAckPending.labels(s.tenant, s.consumer).set(s.ackPending);
    }
    this.#consumersSampled.set(samples.length);
  }

  /** The Prometheus text exposition of everything registered. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
