// deploy/compose.yaml, the production shape, checked without Docker: three NATS nodes routed into one
// JetStream cluster, two gateways on all three with R3 streams and the same secrets (taken from the
// environment, never written in the file), and HAProxy in front with WebSocket-friendly timeouts and
// readiness checks, as test/cluster.test.ts runs it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../dev/paths.ts';

type Yaml = string | Yaml[] | { [key: string]: Yaml };

/**
 * The YAML subset the compose file is written in: block maps and lists by indentation, plain or
 * double-quoted scalars, flow lists of JSON strings, comments. Anything else (anchors, multi-line
 * strings, ...) throws, so the file stays plain enough to check line by line.
 */
export function parseYamlSubset(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw, i) => ({ n: i + 1, indent: raw.length - raw.trimStart().length, text: raw.trim() }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
  let pos = 0;
  const scalar = (v: string, n: number): Yaml => {
    if (/^[&*|>!]/.test(v) || v.startsWith('<<')) throw new Error(`line ${n}: unsupported YAML ${v}`);
    if (v.startsWith('[')) return JSON.parse(v) as string[];
    if (v.startsWith('"')) return JSON.parse(v) as string;
    if (v.startsWith("'")) throw new Error(`line ${n}: use double quotes`);
    return v;
  };
  const block = (indent: number): Yaml => {
    const first = lines[pos];
    if (!first || first.indent !== indent) throw new Error(`line ${first?.n}: expected indentation ${indent}`);
    if (first.text.startsWith('- ')) {
      const list: Yaml[] = [];
      while (lines[pos]?.indent === indent && lines[pos]?.text.startsWith('- ')) {
        const l = lines[pos++] as (typeof lines)[number];
        list.push(scalar(l.text.slice(2).trim(), l.n));
      }
      return list;
    }
    const map: Record<string, Yaml> = {};
    while (lines[pos]?.indent === indent) {
      const l = lines[pos++] as (typeof lines)[number];
      const m = /^("[^"]+"|[\w.-]+):(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw new Error(`line ${l.n}: unsupported YAML ${l.text}`);
      const key = (m[1] as string).replace(/^"|"$/g, '');
      if (key in map) throw new Error(`line ${l.n}: duplicate key ${key}`);
      if (m[2] !== undefined) map[key] = scalar(m[2], l.n);
      else
        map[key] = lines[pos] && (lines[pos] as { indent: number }).indent > indent ? block((lines[pos] as { indent: number }).indent) : '';
    }
    if (lines[pos] && lines[pos]!.indent > indent) throw new Error(`line ${lines[pos]?.n}: unexpected indentation`);
    return map;
  };
  const doc = block(0);
  if (pos < lines.length) throw new Error(`line ${lines[pos]?.n}: unexpected content`);
  return doc;
}

const map = (v: Yaml | undefined): Record<string, Yaml> => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const DEPLOY = join(PROJECT_ROOT, 'deploy');
const compose = map(parseYamlSubset(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')));
const services = map(compose.services);
const names = Object.keys(services);
const natsNodes = names.filter((n) => String(map(services[n]).image).startsWith('nats:'));
const gateways = names.filter((n) => map(map(services[n]).build).dockerfile === 'Dockerfile');

t.test('three NATS nodes form one JetStream cluster', async (t) => {
  t.equal(natsNodes.length, 3, `nats nodes: ${natsNodes.join(', ')}`);
  const clusterNames = new Set<string>();
  for (const node of natsNodes) {
    const s = map(services[node]);
    const args = s.command as string[];
    t.ok(Array.isArray(args), `${node}: command is a list`);
    const arg = (flag: string) => args[args.indexOf(flag) + 1];
    t.ok(args.includes('-js'), `${node}: JetStream on`);
    t.equal(arg('-n'), node, `${node}: server name is the service name (unique in the cluster)`);
    t.match(arg('-sd'), /^\//, `${node}: a store directory`);
    t.ok(
      (s.volumes as string[]).some((v) => v.endsWith(`:${arg('-sd')}`)),
      `${node}: its store is a volume`,
    );
    clusterNames.add(arg('--cluster_name') as string);
    t.match(arg('--cluster'), /^nats:\/\/0\.0\.0\.0:6222$/, `${node}: listens for routes`);
    const routes = (arg('--routes') ?? '').split(',');
    t.same(routes.sort(), natsNodes.map((n) => `nats://${n}:6222`).sort(), `${node}: routes to every node`);
    t.ok(map(s.healthcheck).test, `${node}: a health check`);
  }
  t.equal(clusterNames.size, 1, 'one cluster name');
});

t.test('two gateways on every NATS node, R3 streams, the same secrets from the environment', async (t) => {
  t.equal(gateways.length, 2, `gateways: ${gateways.join(', ')}`);
  const secretsOf: Record<string, string>[] = [];
  for (const gw of gateways) {
    const s = map(services[gw]);
    t.equal(map(s.build).context, '..', `${gw}: built from the repository root`);
    const env = map(s.environment) as Record<string, string>;
    t.same((env.NATS_URL ?? '').split(',').sort(), natsNodes.map((n) => `nats://${n}:4222`).sort(), `${gw}: NATS_URL names every node`);
    t.equal(env.STREAM_REPLICAS, '3', `${gw}: streams replicated on all three nodes`);
    t.ok(env.API_KEYS_FILE, `${gw}: API keys from a file (no dev mode)`);
    for (const secret of ['ACK_TOKEN_SECRET', 'WS_TICKET_SECRET']) {
      t.match(env[secret], new RegExp(`^\\$\\{${secret}:\\?`), `${gw}: ${secret} from the environment, required`);
    }
    secretsOf.push({ ACK_TOKEN_SECRET: env.ACK_TOKEN_SECRET ?? '', WS_TICKET_SECRET: env.WS_TICKET_SECRET ?? '' });
    const deps = Object.keys(map(s.depends_on));
    t.same(deps.sort(), [...natsNodes].sort(), `${gw}: starts after the NATS nodes`);
    t.match(s.stop_grace_period, /^(\d+)s$/, `${gw}: a stop grace period`);
    t.ok(Number.parseInt(String(s.stop_grace_period), 10) > 5 + 10 + 2, `${gw}: longer than drain + shutdown + NATS drain`);
  }
  t.same(secretsOf[0], secretsOf[1], 'both gateways share the secrets');
  const secrets = map(compose.secrets);
  for (const [name, def] of Object.entries(secrets)) t.ok(map(def).file, `secret ${name} comes from a file`);
  t.ok(existsSync(join(DEPLOY, 'api-keys.example.json')), 'an example key file to start from');
});

t.test('HAProxy in front: every gateway, readiness checks, WebSocket and long-poll timeouts', async (t) => {
  const lbs = names.filter((n) => String(map(services[n]).image).startsWith('haproxy:'));
  t.equal(lbs.length, 1, 'one load balancer');
  const lb = map(services[lbs[0] as string]);
  const mount = (lb.volumes as string[]).find((v) => v.includes('haproxy.cfg')) ?? '';
  const [source] = mount.split(':');
  t.ok(existsSync(join(DEPLOY, source as string)), `its configuration ${source} exists`);
  t.ok(
    (lb.ports as string[]).some((p) => p.endsWith(':8080')),
    'published on 8080',
  );

  const cfg = readFileSync(join(DEPLOY, source as string), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const servers = cfg.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/)[2]);
  t.same(servers.sort(), gateways.map((g) => `${g}:8080`).sort(), 'balances over both gateways');
  t.ok(cfg.includes('mode http'), 'HTTP mode (WebSocket upgrades pass through)');
  t.ok(cfg.includes('http-check send meth GET uri /readyz'), 'checks readiness, so a draining gateway leaves the pool');
  t.ok(
    cfg.some((l) => /^default-server\b.*\bcheck\b/.test(l)),
    'every server is checked',
  );
  const seconds = (name: string) => {
    const line = cfg.find((l) => l.startsWith(`timeout ${name} `)) ?? '';
    const m = /(\d+)(ms|s|m|h)$/.exec(line);
    return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms'] : 0;
  };
  t.ok(seconds('tunnel') > 30, `timeout tunnel (${seconds('tunnel')} s) outlasts a WebSocket ping interval`);
  t.ok(seconds('server') > 30 && seconds('client') > 30, 'client and server timeouts outlast a 30 s fetch long-poll');
  t.ok(seconds('http-keep-alive') > 0 && seconds('http-keep-alive') < 72, "idle keep-alive below the gateway's 72 s");
});

t.test('the subset parser refuses what it cannot check', async (t) => {
  t.throws(() => parseYamlSubset('a: &x\n  b: 1\nc: *x\n'), /unsupported YAML/);
  t.throws(() => parseYamlSubset('a:\n  <<: *x\n'), /unsupported YAML/);
  t.same(parseYamlSubset('a:\n  - "x"\n  - y\nb: ["c", "d"]\n'), { a: ['x', 'y'], b: ['c', 'd'] });
});
