// The gateway's Prometheus metrics: one prom-client Registry per app instance, never the
// library's global one, so tests that build several apps in one process do not clash. Every
// metric name lives here (deploy/grafana-dashboard.json and docs/observability.md use the same).
//
// Hot paths (every event published or delivered, every request) increment plain numbers: a
// prom-client child hashes its label values on every `inc`/`observe` (about a microsecond), so
// every metric here is a collector of this module's own (counters and histograms of cells, one per
// label set, made once and cached by label value; gauges read when scraped), in the `get()` shape
// prom-client's Registry accepts. prom-client itself (the Registry, its text format, Node's default
// metrics) is loaded only when metrics are first served, so a gateway without a metrics listener
// never loads it.
import type { Metric, Registry } from 'prom-client';
import type { Config } from './config.ts';

/** What a hot path increments. */
export interface Inc {
  inc(n?: number): void;
}

/** What a hot path observes (a histogram's value). */
export interface Observe {
  observe(value: number): void;
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

type Labels = Record<string, string>;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a collector. */
interface Collector {
  readonly name: string;
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string };
}

/** A gauge whose samples are read when scraped. */
class ScrapeGauge implements Collector {
  readonly name: string;
  readonly help: string;
  readonly #read: () => Sample[];
  constructor(name: string, help: string, read: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.#read = read;
  }
  get() {
    return { name: this.name, help: this.help, type: 'gauge', values: this.#read(), aggregator: 'sum' };
  }
}

class CounterCell implements Inc {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  inc(n = 1): void {
    this.value += n;
  }
}

/** A counter whose label sets are cells bumped on hot paths; read by prom-client when scraped. */
class CellCounter implements Collector {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly #cells = new Map<string, CounterCell>();

  constructor(collectors: Collector[], name: string, help: string, labelNames: readonly string[] = []) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    collectors.push(this);
    if (labelNames.length === 0) this.cell();
  }

  /** The cell of these label values (in labelNames order), made on first use. */
  cell(...values: string[]): CounterCell {
    const key = values.join('\u0000');
    let c = this.#cells.get(key);
    if (!c) {
      c = new CounterCell(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] as string])));
      this.#cells.set(key, c);
    }
    return c;
  }

  get() {
    const values: Sample[] = [];
    for (const c of this.#cells.values()) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

class HistogramCell implements Observe {
  readonly labels: Labels;
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative), the last one above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts as Float64Array)[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** A histogram whose label sets are cells observed on hot paths; read by prom-client when scraped. */
class CellHistogram implements Collector {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(collectors: Collector[], name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    this.labelNames = labelNames;
    collectors.push(this);
    if (labelNames.length === 0) this.cell();
  }

  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000');
    let c = this.#cells.get(key);
    if (!c) {
      c = new HistogramCell(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] as string])), this.buckets);
      this.#cells.set(key, c);
    }
    return c;
  }

  get() {
    const values: Sample[] = [];
    for (const c of this.#cells.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += c.counts[i] as number;
        values.push({ labels: { ...c.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class GatewayMetrics {
  readonly #collectors: Collector[] = [];
  #registry: Promise<Registry> | undefined;
  #defaults = false;
  readonly #withTenant: boolean;
  readonly #maxTenants: number;
  /** Tenants that have a label value of their own (the first METRICS_TENANT_LABEL_MAX seen). */
  readonly #tenants = new Set<string>();

  readonly #httpDuration: CellHistogram;
  /** route template → method → the cell of each status class (made on first use). */
  readonly #http = new Map<string, Map<string, (HistogramCell | undefined)[]>>();
  readonly #published: CellCounter;
  readonly #publishedBy = new Map<string, PublishCounters>();
  readonly #rateLimited: CellCounter;
  readonly #rateLimitedBy = new Map<string, Map<string, Inc>>();
  readonly #deliveryBy = new Map<string, DeliveryCounters>();
  readonly #deliveries: CellCounter;
  readonly #redeliveries: CellCounter;
  readonly #acks: CellCounter;
  readonly #naks: CellCounter;
  readonly #deadLettered: CellCounter;
  #consumerSample: readonly ConsumerSample[] = [];
  /** JetStream publish acknowledgement latency, in seconds. */
  readonly publishAck: Observe;
  readonly batchSize: Observe;
  readonly natsReconnects: Inc;
  readonly natsDisconnects: Inc;

  constructor(config: MetricsConfig) {
    this.#withTenant = config.METRICS_TENANT_LABEL === 'tenant';
    this.#maxTenants = config.METRICS_TENANT_LABEL_MAX;
    const registry = this.#collectors;
    const tenantLabels = (...rest: string[]) => (this.#withTenant ? ['tenant', ...rest] : rest);
    this.#httpDuration = new CellHistogram(
      registry,
      'gateway_http_request_duration_seconds',
      'HTTP request duration by route template, method and status class.',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ['route', 'method', 'status_class'],
    );
    this.#published = new CellCounter(
      registry,
      'gateway_events_published_total',
      'Events a publish request asked to store, by outcome: stored, duplicate (deduplicated by event id) or rejected (refused or failed).',
      tenantLabels('outcome'),
    );
    this.publishAck = new CellHistogram(
      registry,
      'gateway_publish_ack_duration_seconds',
      'Time from sending an event to JetStream until its publish acknowledgement arrived.',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ).cell();
    this.batchSize = new CellHistogram(
      registry,
      'gateway_batch_size_events',
      'Events per POST /v1/events/batch request.',
      [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    ).cell();
    this.#rateLimited = new CellCounter(
      registry,
      'gateway_rate_limited_total',
      'Requests (or WebSocket upgrades) refused by a quota, by the limit that refused them.',
      tenantLabels('limit'),
    );
    const bySink = (name: string, help: string) => new CellCounter(registry, name, help, ['sink']);
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
    registry.push(
      new ScrapeGauge(
        'gateway_consumer_pending_messages',
        "Events not yet delivered by one of the gateway's durable consumers (sampled every METRICS_CONSUMER_SAMPLE_INTERVAL).",
        () => this.#consumerSample.map((c) => ({ labels: { tenant: c.tenant, consumer: c.consumer }, value: c.pending })),
      ),
      new ScrapeGauge(
        'gateway_consumer_ack_pending_messages',
        "Events delivered and not yet acknowledged by one of the gateway's durable consumers (sampled).",
        () => this.#consumerSample.map((c) => ({ labels: { tenant: c.tenant, consumer: c.consumer }, value: c.ackPending })),
      ),
      new ScrapeGauge(
        'gateway_consumers_sampled',
        'Durable consumers read by the last sample (at most METRICS_CONSUMER_SAMPLE_MAX).',
        () => [{ labels: {}, value: this.#consumerSample.length }],
      ),
    );
    this.natsReconnects = new CellCounter(registry, 'gateway_nats_reconnects_total', 'Reconnections to NATS.').cell();
    this.natsDisconnects = new CellCounter(registry, 'gateway_nats_disconnects_total', 'Losses of the NATS connection.').cell();
  }

  /** Node's default process metrics (CPU, memory, event loop lag, GC, handles) on this app's registry. */
  collectDefaults(): void {
    this.#defaults = true;
  }

  /** A gauge read when scraped (connection state, WebSocket counts): nothing to keep up to date. */
  gaugeOnScrape(name: string, help: string, read: () => number): void {
    this.#collectors.push(new ScrapeGauge(name, help, () => [{ labels: {}, value: read() }]));
  }

  /** A gauge by one label, read when scraped. */
  labelledGaugeOnScrape(name: string, help: string, label: string, read: () => Map<string, number>): void {
    this.#collectors.push(new ScrapeGauge(name, help, () => [...read()].map(([v, n]) => ({ labels: { [label]: v }, value: n }))));
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
      const bind = (outcome: string) => this.#published.cell(...(this.#withTenant ? [key, outcome] : [outcome]));
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
      c = this.#rateLimited.cell(...(this.#withTenant ? [key, limit] : [limit]));
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
      byClass = [undefined, undefined, undefined, undefined, undefined];
      byMethod.set(method, byClass);
    }
    const cls = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    let cell = byClass[cls];
    if (!cell) {
      cell = this.#httpDuration.cell(route, method, STATUS_CLASSES[cls] as string);
      byClass[cls] = cell;
    }
    cell.observe(seconds);
  }

  /** The delivery counters of one sink kind (`websocket`, `http-fetch`, …). */
  deliveryCounters(sink: string): DeliveryCounters {
    let c = this.#deliveryBy.get(sink);
    if (!c) {
      c = {
        delivered: this.#deliveries.cell(sink),
        redelivered: this.#redeliveries.cell(sink),
        acked: this.#acks.cell(sink),
        nakked: this.#naks.cell(sink),
        deadLettered: this.#deadLettered.cell(sink),
      };
      this.#deliveryBy.set(sink, c);
    }
    return c;
  }

  /** Replaces the consumer gauges with a new sample (consumers gone since drop out). */
  recordConsumerSample(samples: readonly ConsumerSample[]): void {
    this.#consumerSample = samples;
  }

  /** The Prometheus text exposition of everything registered. */
  async text(): Promise<string> {
    return (await this.registry()).metrics();
  }

  /** The prom-client Registry of this app, made (and prom-client loaded) on first use. */
  registry(): Promise<Registry> {
    this.#registry ??= import('prom-client').then(({ Registry, collectDefaultMetrics }) => {
      const registry = new Registry();
      for (const c of this.#collectors) registry.registerMetric(c as unknown as Metric);
      if (this.#defaults) collectDefaultMetrics({ register: registry });
      return registry;
    });
    return this.#registry;
  }
}
