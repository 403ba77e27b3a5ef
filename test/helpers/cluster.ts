// A three-node nats-server cluster for HA tests: every node on 127.0.0.1 with a random client port,
// a cluster port picked free beforehand, its own temporary store, and routes to the others. Nodes
// can be killed (SIGKILL) and started again on the same ports and storage.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { findNatsServer } from '../../dev/nats-server/binary.ts';
import { type NatsServer, startNatsServer } from '../../dev/nats-server/process.ts';
import { eventually } from './eventually.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ClusterNode {
  readonly name: string;
  /** The running server, or undefined while the node is down. */
  server: NatsServer | undefined;
  readonly clientPort: number;
  readonly storeDir: string;
}

export interface TestCluster {
  readonly nodes: ClusterNode[];
  /** Every node's client URL, for NATS_URL. */
  readonly urls: string[];
  /** SIGKILL one node. */
  kill(node: ClusterNode): Promise<void>;
  /** Start a killed node again with its ports and storage. */
  restart(node: ClusterNode): Promise<void>;
  /** The node that leads `stream` now (asked of any live node). */
  leaderOf(stream: string): Promise<ClusterNode>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startCluster(t: Teardown, size = 3): Promise<TestCluster> {
  const bin = await findNatsServer();
  const specs: { name: string; clientPort: number; clusterPort: number; storeDir: string }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `n${i + 1}`,
      clientPort: await freePort(),
      clusterPort: await freePort(),
      storeDir: mkdtempSync(join(tmpdir(), 'gw-nats-cluster-')),
    });
  }
  const routes = specs.map((s) => `nats://127.0.0.1:${s.clusterPort}`).join(',');
  const nodes: ClusterNode[] = specs.map((s) => ({ name: s.name, clientPort: s.clientPort, storeDir: s.storeDir, server: undefined }));
  const start = async (i: number) => {
    const s = specs[i] as (typeof specs)[number];
    (nodes[i] as ClusterNode).server = await startNatsServer({
      bin,
      storeDir: s.storeDir,
      port: s.clientPort,
      extraArgs: ['-n', s.name, '--cluster_name', 'gw_test', '--cluster', `nats://127.0.0.1:${s.clusterPort}`, '--routes', routes],
    });
  };
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.server?.kill()));
    for (const s of specs) rmSync(s.storeDir, { recursive: true, force: true });
  });
  await Promise.all(specs.map((_, i) => start(i)));
  const urls = nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`);

  // JetStream answers once the nodes have met and elected a meta leader.
  const nc = await connect({ servers: urls });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
    await eventually(
      'the cluster to elect a JetStream meta leader',
      () =>
        jsm.getAccountInfo().then(
          () => true,
          () => false,
        ),
      Boolean,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } finally {
    await nc.close();
  }

  return {
    nodes,
    urls,
    kill: async (node) => {
      await node.server?.kill();
      node.server = undefined;
    },
    restart: (node) => start(nodes.indexOf(node)),
    leaderOf: async (stream) => {
      const live = nodes.filter((n) => n.server).map((n) => `nats://127.0.0.1:${n.clientPort}`);
      const c = await connect({ servers: live });
      try {
        const jsm = await jetstreamManager(c, { timeout: 2000 });
        const leader = (await jsm.streams.info(stream)).cluster?.leader;
        const node = nodes.find((n) => n.name === leader);
        if (!node) throw new Error(`stream ${stream} has no leader (${leader})`);
        return node;
      } finally {
        await c.close();
      }
    },
  };
}
