// What every scenario gets: the processes under test, the run's settings (full or --quick), and
// measurement around a load: CPU share of gateway, nats-server and load generator, and the
// gateway's peak RSS, sampled from /proc while the load runs.
import { JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { GatewayProcess } from './processes.ts';
import { sampleProcess } from './processes.ts';
import { round } from './stats.ts';

export interface BenchSettings {
  quick: boolean;
  /** Each gateway/direct pair is run this often; the report gives medians. */
  repeats: number;
  /** Length of one throughput measurement. */
  loadMs: number;
  warmupMs: number;
  /** Requests (single publish) or events (direct) in flight. */
  inFlight: number;
  batchSize: number;
  batchConnections: number;
  e2eRate: number;
  e2eMs: number;
  /**
   * Events sent through each path of scenario 3 before measuring. V8 optimises every per-request
   * function of a fresh gateway at about the same request count (~10k here), a one-time burst of
   * compilation that stalls the process for 100-200 ms; the scenario measures the steady state.
   */
  e2eWarmupEvents: number;
  fanoutSubscribers: number[];
  fanoutEvents: number;
  /** Scenario 7: subscribers, burst events, paced events/s and how long, gateway and peer alike. */
  peerSubscribers: number;
  peerBurstEvents: number;
  peerRate: number;
  peerLatencyMs: number;
  /** Server-Sent Events streams of scenario 8 (the same burst of `fanoutEvents`). */
  sseFanoutSubscribers: number[];
  slowMs: number;
  slowRate: number;
}

export const FULL: BenchSettings = {
  quick: false,
  repeats: 3,
  loadMs: 10_000,
  warmupMs: 3_000,
  inFlight: 64,
  batchSize: 100,
  batchConnections: 4,
  e2eRate: 1000,
  e2eMs: 30_000,
  e2eWarmupEvents: 20_000,
  fanoutSubscribers: [1000, 5000, 10_000],
  fanoutEvents: 20,
  peerSubscribers: 1000,
  peerBurstEvents: 200,
  peerRate: 200,
  peerLatencyMs: 20_000,
  sseFanoutSubscribers: [1000, 5000],
  slowMs: 30_000,
  slowRate: 1000,
};

export const QUICK: BenchSettings = {
  quick: true,
  repeats: 1,
  loadMs: 1_000,
  warmupMs: 300,
  inFlight: 8,
  batchSize: 100,
  batchConnections: 2,
  e2eRate: 200,
  e2eMs: 2_000,
  e2eWarmupEvents: 200,
  fanoutSubscribers: [20, 50],
  fanoutEvents: 5,
  peerSubscribers: 20,
  peerBurstEvents: 10,
  peerRate: 50,
  peerLatencyMs: 1_000,
  sseFanoutSubscribers: [20, 50],
  slowMs: 2_000,
  slowRate: 200,
};

export interface Usage {
  /** CPU used over the load, in % of one core. */
  cpu_percent: { gateway: number; nats: number; load_generator: number };
  /** CPU seconds used over the load (user + system). */
  cpu_seconds?: { gateway: number; nats: number; load_generator: number };
  gateway_rss_peak_mib: number;
}

/** The gateway's stream (its default STREAM_NAME, which the bench does not change). */
const STREAM = 'EVENTS';

export class BenchContext {
  readonly natsUrl: string;
  readonly natsPid: number;
  /** nats-server's WebSocket listener: the peer of the fan-out scenario. */
  natsWsUrl: string | undefined;
  readonly settings: BenchSettings;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly #startGateway: () => Promise<GatewayProcess>;
  #gateway: GatewayProcess | undefined;

  private constructor(
    natsUrl: string,
    natsPid: number,
    startGateway: () => Promise<GatewayProcess>,
    settings: BenchSettings,
    nc: NatsConnection,
    jsm: JetStreamManager,
  ) {
    this.natsUrl = natsUrl;
    this.natsPid = natsPid;
    this.#startGateway = startGateway;
    this.settings = settings;
    this.nc = nc;
    this.jsm = jsm;
  }

  static async create(
    natsUrl: string,
    natsPid: number,
    startGateway: () => Promise<GatewayProcess>,
    settings: BenchSettings,
  ): Promise<BenchContext> {
    const nc = await connect({ servers: natsUrl, name: 'gateway-bench-observer' });
    const ctx = new BenchContext(natsUrl, natsPid, startGateway, settings, nc, await jetstreamManager(nc));
    await ctx.freshGateway();
    return ctx;
  }

  get gateway(): GatewayProcess {
    if (!this.#gateway) throw new Error('no gateway running');
    return this.#gateway;
  }

  /**
   * Replaces the gateway process by a new one: each scenario starts from a fresh process, so RSS
   * figures are not inflated by the heap an earlier scenario grew.
   */
  async freshGateway(): Promise<GatewayProcess> {
    await this.#gateway?.stop();
    this.#gateway = undefined;
    // And an empty stream, which the new gateway creates: what earlier scenarios stored would
    // otherwise weigh on nats-server (a million stored events, and their ids in the duplicate
    // window, expiring while the next scenario measures).
    await this.jsm.streams.delete(STREAM).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err; // 10059: stream not found
    });
    this.#gateway = await this.#startGateway();
    return this.#gateway;
  }

  /** Messages in the event stream: every scenario checks that what it counted was stored. */
  async storedEvents(): Promise<number> {
    return (await this.jsm.streams.info(STREAM)).state.messages;
  }

  gatewayRssBytes(): number {
    return sampleProcess(this.gateway.pid)?.rssBytes ?? Number.NaN;
  }

  /**
   * Runs `load` while sampling CPU of every process and the gateway's RSS (`pid`: of another
   * process standing in for the gateway, such as the bare bridge of scenario 1).
   */
  async measure<T>(load: () => Promise<T>, pid = this.gateway.pid): Promise<{ result: T; usage: Usage }> {
    const before = { gw: sampleProcess(pid), nats: sampleProcess(this.natsPid), self: process.cpuUsage() };
    let rssPeak = before.gw?.rssBytes ?? 0;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, sampleProcess(pid)?.rssBytes ?? 0);
    }, 250);
    const t0 = performance.now();
    try {
      const result = await load();
      const seconds = (performance.now() - t0) / 1000;
      const gw = sampleProcess(pid);
      const nats = sampleProcess(this.natsPid);
      const self = process.cpuUsage(before.self);
      const pct = (cpu: number) => round((cpu / seconds) * 100, 0);
      const cpuSeconds = {
        gateway: (gw?.cpuSeconds ?? Number.NaN) - (before.gw?.cpuSeconds ?? Number.NaN),
        nats: (nats?.cpuSeconds ?? Number.NaN) - (before.nats?.cpuSeconds ?? Number.NaN),
        load_generator: (self.user + self.system) / 1e6,
      };
      return {
        result,
        usage: {
          cpu_seconds: cpuSeconds,
          cpu_percent: {
            gateway: pct((gw?.cpuSeconds ?? Number.NaN) - (before.gw?.cpuSeconds ?? Number.NaN)),
            nats: pct((nats?.cpuSeconds ?? Number.NaN) - (before.nats?.cpuSeconds ?? Number.NaN)),
            load_generator: pct((self.user + self.system) / 1e6),
          },
          gateway_rss_peak_mib: round(Math.max(rssPeak, gw?.rssBytes ?? 0) / 2 ** 20, 1),
        },
      };
    } finally {
      clearInterval(sampler);
    }
  }

  async close(): Promise<void> {
    await this.#gateway?.stop();
    await this.nc.close();
  }
}
