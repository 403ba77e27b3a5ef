// Scenario 6: webhook deliveries per second to a local receiver, beside the same receiver driven by
// a bare HTTP client. The receiver (node:http on 127.0.0.1, in the bench process) answers 204 at
// once and counts distinct webhook-ids. The webhook side stores a backlog while the webhook is
// paused, then resumes it and times the drain: consumer pulls, signing (standardwebhooks), the
// POSTs and the acks, at max_in_flight requests in flight. The reference side POSTs the same
// envelope with as many requests in flight from a keep-alive agent in a process of its own
// (bench/bare-webhook-client.ts), nothing else: what the receiver and this machine's loopback
// HTTP cost on their own. The two alternate, the reference
// first, so both meet the same machine. Bounded in count and time.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchContext, Usage } from '../context.ts';
import { PROJECT_ROOT } from '../../dev/paths.ts';
import { batchBody } from '../payload.ts';
import { median, round } from '../stats.ts';

export interface WebhookSide {
  deliveries: number;
  seconds: number;
  deliveries_per_s: number;
  /** The sender's CPU (the gateway, or the bare client's process) per delivery, µs. */
  cpu_us_per_delivery?: number;
}

export interface WebhookScenarioResult {
  events: number;
  in_flight: number;
  /** The webhook's drains, one per repeat. */
  webhook: WebhookSide & { runs: WebhookSide[]; usage: Usage | undefined };
  /** The bare HTTP client against the same receiver; `cpu_percent`: its process, last run. */
  bare: WebhookSide & { runs: WebhookSide[]; cpu_percent: number | undefined };
  ratio: number;
  /** Every stored event reached the receiver, every time. */
  all_delivered: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** The receiver: 204 to everything, counting distinct webhook-ids (or x-id for the bare client). */
async function startReceiver() {
  const ids = new Set<string>();
  let lastAt = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'] ?? req.headers['x-id'];
      if (typeof id === 'string') ids.add(id);
      lastAt = performance.now();
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    ids,
    lastAt: () => lastAt,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Runs bench/bare-webhook-client.ts: `count` POSTs to `url`, `inFlight` at a time; its own timing and CPU. */
async function bareClient(url: string, count: number, inFlight: number, runNo: number): Promise<{ seconds: number; cpuSeconds: number; cpuPercent: number }> {
  const child = spawn(process.execPath, ['bench/bare-webhook-client.ts', url, String(count), String(inFlight), String(runNo)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the bare client exited with ${code}`);
  const r = JSON.parse(out) as { seconds: number; cpu_seconds: number };
  return { seconds: r.seconds, cpuSeconds: r.cpu_seconds, cpuPercent: round((r.cpu_seconds / r.seconds) * 100, 0) };
}

async function api(ctx: BenchContext, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(ctx.gateway.url + path, {
    method,
    headers: { authorization: `Bearer ${ctx.gateway.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Stores `count` events (batches of 100) while the webhook is paused. */
async function storeBacklog(ctx: BenchContext, count: number, runNo: number): Promise<void> {
  const template = batchBody(100);
  for (let b = 0; b < count / 100; b++) {
    let i = 0;
    const body = template.replaceAll('[<id>]', () => `wh${runNo}_${b}_${i++}`);
    await api(ctx, 'POST', '/v1/events/batch', JSON.parse(body));
  }
}

export async function webhookDeliveries(ctx: BenchContext): Promise<WebhookScenarioResult> {
  const s = ctx.settings;
  const events = s.quick ? 1000 : 20_000;
  const inFlight = s.inFlight;
  // Five repeats at least: the bare client's rate swings by a third between repeats on 2 shared cores.
  const repeats = s.quick ? 1 : Math.max(5, s.repeats);
  const receiver = await startReceiver();
  const webhookRuns: WebhookSide[] = [];
  const bareRuns: WebhookSide[] = [];
  let usage: Usage | undefined;
  let bareCpu: number | undefined;
  let allDelivered = true;
  try {
    await api(ctx, 'PUT', '/v1/webhooks/bench', { url: receiver.url, types: ['*'], max_in_flight: inFlight, retry: { max_attempts: 3 } });
    await api(ctx, 'POST', '/v1/webhooks/bench/pause');
    // Stores `count` events while the webhook is paused, then resumes it and times the drain
    // until the receiver holds them all; paused again afterwards.
    const drain = async (count: number, runNo: number) => {
      await storeBacklog(ctx, count, runNo);
      receiver.ids.clear();
      const measured = await ctx.measure(async () => {
        const start = performance.now();
        await api(ctx, 'POST', '/v1/webhooks/bench/resume');
        const done = await waitFor(() => receiver.ids.size >= count, 300_000);
        return { done, seconds: (receiver.lastAt() - start) / 1000 };
      });
      if (!measured.result.done) allDelivered = false;
      await api(ctx, 'POST', '/v1/webhooks/bench/pause');
      await sleep(500); // the pause reaches the dispatcher before the next backlog is stored
      return measured;
    };
    // Warm both paths up a little (connections, JIT), unmeasured.
    const warmUp = Math.min(1000, events);
    await bareClient(receiver.url, warmUp, inFlight, -1);
    await drain(warmUp, -1);
    for (let runNo = 0; runNo < repeats; runNo++) {
      receiver.ids.clear();
      const bare = await bareClient(receiver.url, events, inFlight, runNo);
      bareCpu = bare.cpuPercent;
      const bareSeconds = bare.seconds;
      bareRuns.push({
        deliveries: receiver.ids.size,
        seconds: round(bareSeconds, 3),
        deliveries_per_s: round(receiver.ids.size / bareSeconds, 0),
        cpu_us_per_delivery: round((bare.cpuSeconds * 1e6) / Math.max(1, receiver.ids.size), 1),
      });

      const measured = await drain(events, runNo);
      usage = measured.usage;
      const { seconds } = measured.result;
      webhookRuns.push({
        deliveries: receiver.ids.size,
        seconds: round(seconds, 3),
        deliveries_per_s: round(receiver.ids.size / seconds, 0),
        ...(measured.usage.cpu_seconds ? { cpu_us_per_delivery: round((measured.usage.cpu_seconds.gateway * 1e6) / Math.max(1, receiver.ids.size), 1) } : {}),
      });
    }
    await api(ctx, 'DELETE', '/v1/webhooks/bench');
  } finally {
    await receiver.close();
  }
  const summary = (runs: WebhookSide[]): WebhookSide => ({
    deliveries: runs.reduce((n, r) => n + r.deliveries, 0),
    seconds: round(
      runs.reduce((n, r) => n + r.seconds, 0),
      3,
    ),
    deliveries_per_s: median(runs.map((r) => r.deliveries_per_s)),
    cpu_us_per_delivery: median(runs.flatMap((r) => (r.cpu_us_per_delivery === undefined ? [] : [r.cpu_us_per_delivery]))),
  });
  const webhook = { ...summary(webhookRuns), runs: webhookRuns, usage };
  const bare = { ...summary(bareRuns), runs: bareRuns, cpu_percent: bareCpu };
  return {
    events,
    in_flight: inFlight,
    webhook,
    bare,
    ratio: round(webhook.deliveries_per_s / bare.deliveries_per_s, 3),
    all_delivered: allDelivered && webhookRuns.every((r) => r.deliveries >= events),
  };
}
