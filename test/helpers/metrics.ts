// Scraping a gateway's Prometheus listener over HTTP, and reading the text exposition back.
import { createServer } from 'node:net';

/** A port free a moment ago on 127.0.0.1 (METRICS_PORT=0 means "off", so tests pick one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof addr !== 'object' || addr === null) throw new Error('no port');
  return addr.port;
}

export interface Scrape {
  text: string;
  /** Every sample, by `name{labels}` exactly as exposed (labels in the order prom-client writes them). */
  samples: Map<string, number>;
  /** The metric families (`# TYPE` lines): name → type. */
  types: Map<string, string>;
}

export function parseExposition(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name as string, type as string);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, samples, types };
}

/** GET /metrics on the listener; throws unless 200 text/plain. */
export async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain')) throw new Error(`scrape content-type ${res.headers.get('content-type')}`);
  return parseExposition(await res.text());
}

/** One sample's value (0 when absent): `name` and labels as `{a="x",b="y"}` in exposition order. */
export function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const entries = Object.entries(labels);
  const key = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  return s.samples.get(key) ?? 0;
}
