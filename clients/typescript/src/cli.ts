#!/usr/bin/env node
// platforma-events: the gateway from a terminal. On a TTY it prints readable, coloured lines and
// progress (on stderr); piped, one JSON object per line on stdout, nothing else. The gateway and key
// come from --url/--key or PLATFORMA_URL/PLATFORMA_KEY.
import { parseArgs } from 'node:util';
import { createGatewayClient, type GatewayClient, GatewayProblemError } from './gateway-client.ts';
import type { EventEnvelope, EventInput, StartPosition, StoredEvent } from './generated/openapi.ts';
import { tailEvents } from './sse.ts';
import { subscribe } from './subscription.ts';

const USAGE = `Usage: platforma-events [--url URL] [--key KEY] [--json] <command> ...

  publish --type T --source S --data JSON [--correlation-id ID] [--id ID]
  tail [--types P]... [--filter JSON] [--from new|all|SEQ|TIME] [--group G]
  tail --sse [--types P]... [--filter JSON] [--from new|all|SEQ]   (Server-Sent Events: plain HTTP)
  history [--types P]... [--since TIME] [--until TIME] [--correlation-id ID] [--source S] [--limit N]
  saga <correlation_id>
  consumers get|delete <name>
  consumers put <name> --types P... [--filter JSON] [--from new|all|SEQ|TIME]
  consumers fetch <name> [--max N] [--wait-ms MS] [--ack]
  consumers ack <name> --token T... [--nak T...]
  dlq list [--consumer NAME] [--limit N]
  dlq redrive (--seq N... | --all | --consumer NAME) [--dry-run]

Environment: PLATFORMA_URL (default http://127.0.0.1:8080), PLATFORMA_KEY.
Output: readable lines on a terminal; JSON lines when piped (or with --json).`;

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  type: { type: 'string' },
  source: { type: 'string' },
  data: { type: 'string' },
  id: { type: 'string' },
  'correlation-id': { type: 'string' },
  types: { type: 'string', multiple: true },
  filter: { type: 'string' },
  from: { type: 'string' },
  group: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  max: { type: 'string' },
  'wait-ms': { type: 'string' },
  ack: { type: 'boolean' },
  token: { type: 'string', multiple: true },
  nak: { type: 'string', multiple: true },
  consumer: { type: 'string' },
  seq: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  sse: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

const tty = process.stdout.isTTY === true;
let json = !tty;
const colour = (code: number) => (text: string) => (json || process.env.NO_COLOR ? text : `\x1b[${code}m${text}\x1b[0m`);
const dim = colour(2);
const bold = colour(1);
const green = colour(32);
const red = colour(31);
const cyan = colour(36);
const yellow = colour(33);

/** A JSON line when piped, the readable line on a terminal. */
function out(record: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(record) : human()}\n`);
}

/** Progress and notices: on a terminal only, on stderr. */
function progress(text: string): void {
  if (!json && process.stderr.isTTY) process.stderr.write(`${dim(text)}\n`);
}

/** Comma- or repeat-separated type patterns. */
const list = (values: string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(',')).filter(Boolean);

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, not ${value}`);
  return n;
}

function parseJson(value: string, name: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError(`--${name} is not JSON: ${value}`);
  }
}

function startPosition(value: string | undefined): StartPosition | undefined {
  if (value === undefined) return undefined;
  if (value === 'new' || value === 'all') return value;
  if (/^\d+$/.test(value)) return { seq: Number(value) };
  return { time: value };
}

function eventLine(e: EventEnvelope, seq?: number): string {
  const corr = e.metadata?.correlation_id ? dim(` corr=${e.metadata.correlation_id}`) : '';
  return `${seq !== undefined ? dim(`#${seq} `) : ''}${dim(e.timestamp)} ${cyan(e.type)} ${dim('from')} ${e.source} ${dim(e.id)}${corr}\n  ${JSON.stringify(e.data)}`;
}

async function publish(client: GatewayClient, v: Values): Promise<void> {
  if (!v.type || !v.source || v.data === undefined) throw new UsageError('publish needs --type, --source and --data');
  const event: EventInput = { type: v.type, source: v.source, data: parseJson(v.data, 'data') as EventInput['data'] };
  if (v.id) event.id = v.id;
  const result = await client.publishEvent(event, v['correlation-id'] ? { correlationId: v['correlation-id'] } : {});
  out(result, () => `${green('published')} ${result.id} seq=${result.seq}${result.duplicate ? yellow(' (duplicate)') : ''}`);
}

async function history(client: GatewayClient, v: Values): Promise<void> {
  const limit = int(v.limit, 'limit') ?? 100;
  let cursor: string | undefined;
  let printed = 0;
  do {
    const page = await client.listEvents({
      query: {
        ...(list(v.types).length ? { types: list(v.types) } : {}),
        ...(v.since ? { since: v.since } : {}),
        ...(v.until ? { until: v.until } : {}),
        ...(v['correlation-id'] ? { correlation_id: v['correlation-id'] } : {}),
        ...(v.source ? { source: v.source } : {}),
        limit: Math.min(limit - printed, 1000),
        ...(cursor ? { cursor } : {}),
      },
    });
    for (const stored of page.events) {
      // The CLI never asks for `format=cloudevents`: every event is an envelope.
      out(stored, () => eventLine(stored.event as EventEnvelope, stored.seq));
      printed++;
    }
    progress(`${printed} event(s)`);
    cursor = page.next ?? undefined;
  } while (cursor && printed < limit);
}

function elapsed(ms: number): string {
  if (ms < 1000) return `+${ms}ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)}s`;
  return `+${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

async function saga(client: GatewayClient, correlationId: string | undefined): Promise<void> {
  if (!correlationId) throw new UsageError('saga needs a correlation id');
  const trace = await client.getCorrelation(correlationId);
  if (!json) process.stdout.write(`${bold(`saga ${trace.correlation_id}`)} ${dim(`${trace.summary.count} step(s)`)}\n`);
  let previous: number | undefined;
  trace.events.forEach((stored: StoredEvent, i: number) => {
    const at = Date.parse(stored.event.timestamp);
    const sincePrevious = previous === undefined ? 0 : at - previous;
    previous = at;
    const { event } = stored;
    const failed = /(^|\.)(failed|rejected|error)/.test(event.type.split('.')[1] ?? '');
    out(
      {
        step: i + 1,
        seq: stored.seq,
        timestamp: event.timestamp,
        source: event.source,
        type: event.type,
        id: event.id,
        elapsed_ms: sincePrevious,
      },
      () =>
        `${dim(String(i + 1).padStart(3))} ${event.timestamp} ${dim(elapsed(sincePrevious).padStart(8))} ${event.source.padEnd(24)} ${failed ? red(event.type) : cyan(event.type)}`,
    );
  });
  if (!json && trace.truncated) process.stdout.write(`${yellow('… truncated: the correlation holds more events')}\n`);
  if (!json && trace.summary.failed) process.stdout.write(`${red('failed')}\n`);
}

/** `tail --sse`: the same tail over GET /v1/events/stream, resuming with Last-Event-ID after a drop. */
async function tailSse(v: Values, baseUrl: string, apiKey: string): Promise<void> {
  if (v.group) throw new UsageError('tail --sse has no consumer groups; use tail over WebSocket');
  const types = list(v.types).length ? list(v.types) : ['*'];
  let fromSeq: number | undefined;
  if (v.from === 'all') fromSeq = 1;
  else if (v.from !== undefined && v.from !== 'new') {
    if (!/^[1-9][0-9]*$/.test(v.from)) throw new UsageError('tail --sse --from takes new, all or a sequence');
    fromSeq = Number(v.from);
  }
  const stream = tailEvents({
    baseUrl,
    apiKey,
    types,
    ...(fromSeq !== undefined ? { fromSeq } : {}),
    ...(v.filter ? { filter: parseJson(v.filter, 'filter') as Record<string, unknown> } : {}),
    onOpen: (o) => progress(`streaming ${types.join(', ')}${o.startSeq !== undefined ? ` from #${o.startSeq}` : ''}`),
    onEvent: (event, meta) => out({ seq: meta.id, event }, () => eventLine(event, meta.id)),
    onClose: (c) => progress(`stream closed by the gateway (${c.reason}); resuming`),
    onError: (err) => progress(`${err.message}`),
  });
  const stop = () => void stream.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const err = await stream.closed;
  if (err) throw err;
}

async function tail(v: Values, baseUrl: string, apiKey: string | undefined): Promise<void> {
  if (!apiKey) throw new UsageError('tail needs a key (--key or PLATFORMA_KEY)');
  if (v.sse) return tailSse(v, baseUrl, apiKey);
  const types = list(v.types).length ? list(v.types) : ['*'];
  const from = startPosition(v.from);
  const sub = subscribe({
    baseUrl,
    apiKey,
    types,
    ...(from ? { from } : {}),
    ...(v.group ? { group: v.group } : {}),
    ...(v.filter ? { filter: parseJson(v.filter, 'filter') as Record<string, unknown> } : {}),
    onSubscribed: (f) => progress(`subscribed to ${types.join(', ')}${f.start_seq !== undefined ? ` from #${f.start_seq}` : ''}`),
    onEvent: (event, frame) => out({ seq: frame.seq, event }, () => eventLine(event, frame.seq)),
    onError: (err) => progress(`${err.message}`),
  });
  const stop = () => void sub.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const err = await sub.closed;
  if (err) throw err;
}

async function consumers(client: GatewayClient, args: string[], v: Values): Promise<void> {
  const [action, name] = args;
  if (!name) throw new UsageError(`consumers ${action ?? '<action>'} needs a consumer name`);
  switch (action) {
    case 'get': {
      const c = await client.getConsumer(name);
      return out(
        c,
        () => `${bold(c.name)} types=${c.types.join(',')} pending=${c.pending} unacked=${c.unacked} redelivered=${c.redelivered}`,
      );
    }
    case 'put': {
      const types = list(v.types);
      if (!types.length) throw new UsageError('consumers put needs --types');
      const from = startPosition(v.from);
      const c = await client.putConsumer(name, {
        types,
        ...(from ? { from } : {}),
        ...(v.filter ? { filter: parseJson(v.filter, 'filter') as never } : {}),
      });
      return out(c, () => `${green('consumer')} ${bold(c.name)} types=${c.types.join(',')} pending=${c.pending}`);
    }
    case 'delete': {
      const result = await client.deleteConsumer(name);
      return out(result, () => `${green('deleted')} ${name}`);
    }
    case 'fetch': {
      const max = int(v.max, 'max');
      const waitMs = int(v['wait-ms'], 'wait-ms');
      const result = await client.fetchConsumer(name, { ...(max ? { max } : {}), ...(waitMs !== undefined ? { wait_ms: waitMs } : {}) });
      for (const e of result.events)
        out(e, () => `${eventLine(e.event as EventEnvelope, e.seq)}\n  ${dim(`delivery ${e.delivery}, ack token ${e.ack_token}`)}`);
      progress(`${result.events.length} event(s)`);
      if (v.ack && result.events.length) {
        const acked = await client.ackConsumer(name, { acks: result.events.map((e) => e.ack_token) });
        progress(`acked ${acked.acks.filter((a) => a.ok).length} of ${result.events.length}`);
      }
      return;
    }
    case 'ack': {
      if (!v.token?.length && !v.nak?.length) throw new UsageError('consumers ack needs --token (or --nak)');
      const result = await client.ackConsumer(name, {
        ...(v.token?.length ? { acks: v.token } : {}),
        ...(v.nak?.length ? { naks: v.nak } : {}),
      });
      return out(result, () => `acks: ${result.acks.map((a) => (a.ok ? green('ok') : red(a.error.code))).join(' ')}`);
    }
    default:
      throw new UsageError(`unknown consumers action ${action ?? ''}`);
  }
}

async function dlq(client: GatewayClient, args: string[], v: Values): Promise<void> {
  const [action] = args;
  if (action === 'list') {
    const limit = int(v.limit, 'limit');
    const page = await client.listDeadLetters({ query: { ...(v.consumer ? { consumer: v.consumer } : {}), ...(limit ? { limit } : {}) } });
    for (const d of page.dead_letters)
      out(
        d,
        () =>
          `${dim(`#${d.seq}`)} ${bold(d.consumer)} ${red(d.reason)} deliveries=${d.delivery_count} ${cyan(d.event?.type ?? '?')} ${dim(d.event?.id ?? '')}`,
      );
    progress(`${page.dead_letters.length} dead letter(s)`);
    return;
  }
  if (action === 'redrive') {
    const seqs = (v.seq ?? []).flatMap((s) => s.split(',')).map((s) => int(s, 'seq') as number);
    let body: { seqs: number[]; dry_run?: boolean } | { filter: { consumer?: string }; dry_run?: boolean };
    if (seqs.length) body = { seqs };
    else if (v.all || v.consumer) body = { filter: v.consumer ? { consumer: v.consumer } : {} };
    else throw new UsageError('dlq redrive needs --seq, --consumer or --all');
    if (v['dry-run']) body.dry_run = true;
    const result = await client.redriveDeadLetters(body);
    for (const r of result.results) out(r, () => JSON.stringify(r));
    if (!json) {
      process.stdout.write(
        result.dry_run ? `${green('would redrive')} ${result.would_redrive ?? 0}\n` : `${green('redriven')} ${result.redriven}\n`,
      );
    }
    return;
  }
  throw new UsageError(`unknown dlq action ${action ?? ''}`);
}

async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (v.json) json = true;
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || v.help ? 0 : 2;
  }
  const baseUrl = v.url ?? process.env.PLATFORMA_URL ?? 'http://127.0.0.1:8080';
  const apiKey = v.key ?? process.env.PLATFORMA_KEY;
  const client = createGatewayClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  switch (command) {
    case 'publish':
      await publish(client, v);
      break;
    case 'history':
      await history(client, v);
      break;
    case 'saga':
      await saga(client, rest[0]);
      break;
    case 'tail':
      await tail(v, baseUrl, apiKey);
      break;
    case 'consumers':
      await consumers(client, rest, v);
      break;
    case 'dlq':
      await dlq(client, rest, v);
      break;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (err instanceof GatewayProblemError) {
    if (json) process.stderr.write(`${JSON.stringify({ error: err.problem ?? { status: err.status } })}\n`);
    else process.stderr.write(`${red(`${err.status} ${err.code ?? ''}`)} ${err.problem?.detail ?? err.message}\n`);
    process.exitCode = 1;
  } else {
    // fetch's "fetch failed" names its reason (ECONNREFUSED, a DNS error, ...) only in `cause`.
    const cause = (err as Error).cause as { message?: string; code?: string } | undefined;
    const reason = cause ? ` (${cause.code ?? cause.message})` : '';
    if (json) process.stderr.write(`${JSON.stringify({ error: { message: `${(err as Error).message}${reason}` } })}\n`);
    else process.stderr.write(`${red('error')} ${(err as Error).message}${reason}\n`);
    process.exitCode = 1;
  }
}
