/**
 * Three nats-servers with JetStream clustered on loopback for one test suite: each with its own
 * store, server name, client and route port (free ones, kept across restarts) and routes to the
 * other two. Helpers find which server leads a stream (a KV bucket is the stream KV_<bucket>),
 * SIGKILL one and start it again on the same ports and store.
 */
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { freePort, waitUntil } from './util.js';

export const CLUSTER_NAME = 'avb';
/** How long a server in lame duck mode gets to hand its leaderships over before it is stopped. */
const HAND_OVER_MS = 10_000;

export interface ClusterNode {
  name: string;
  server: NatsServer;
}

export interface NatsCluster {
  nodes: ClusterNode[];
  /** Every server's URL, comma-separated: what NATS_URL gets. */
  url: string;
  /** The server_name of the stream's leader (undefined while it has none). */
  leaderOf(stream: string): Promise<string | undefined>;
  node(name: string): ClusterNode;
  /** Resolves once JetStream answers with a meta leader and every server is routed. */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * How an operator takes a server out (a rolling restart, `stop_signal: SIGUSR2` in compose):
   * lame duck mode, which hands every asset's leadership to the others, then, once it leads none
   * of `assets` (streams, or `stream/consumer`), the server is stopped; so it is after HAND_OVER_MS
   * in any case (nats-server's own lame duck period is 30 s at least: the test does not wait it
   * out). Resolves with the assets it still led when it was stopped.
   */
  leave(name: string, assets: string[]): Promise<string[]>;
  /** Resolves once the stream has a leader and every replica is current (a consumer: a leader, every replica online). */
  streamHealthy(stream: string, timeoutMs?: number, consumer?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(',');
  const nodes: ClusterNode[] = [];
  try {
    // All at once: each waits for its client port only, the routes form as the others come up.
    await Promise.all(ports.map(async (p, i) => {
      const name = `n${i + 1}`;
      const server = await startNatsServer({
        port: p.client,
        args: ['--server_name', name, '--cluster_name', CLUSTER_NAME, '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes],
      });
      nodes[i] = { name, server };
    }));
  } catch (err) {
    await Promise.all(nodes.filter(Boolean).map((n) => n.server.stop()));
    throw err;
  }
  const url = nodes.map((n) => n.server.url).join(',');
  let nc: NatsConnection | undefined;
  const conn = async () => (nc ??= await connect({ servers: url, name: 'test-cluster', maxReconnectAttempts: -1, reconnectTimeWait: 200 }));
  const request = async <T>(subject: string, timeout = 1000): Promise<T | undefined> => {
    try {
      const reply = await (await conn()).request(subject, undefined, { timeout });
      return JSON.parse(new TextDecoder().decode(reply.data)) as T;
    } catch {
      return undefined;
    }
  };
  interface StreamInfoReply { error?: unknown; cluster?: { leader?: string; replicas?: Array<{ current: boolean; offline?: boolean }> } }
  /** The info of a stream, or of one of its consumers. */
  const infoOf = (stream: string, consumer?: string) =>
    request<StreamInfoReply>(consumer === undefined ? `$JS.API.STREAM.INFO.${stream}` : `$JS.API.CONSUMER.INFO.${stream}.${consumer}`);
  const cluster: NatsCluster = {
    nodes,
    url,
    async leaderOf(stream) {
      return (await infoOf(stream))?.cluster?.leader || undefined;
    },
    async leave(name, assets) {
      const node = cluster.node(name);
      if (node.server.pid !== undefined) process.kill(node.server.pid, 'SIGUSR2');
      const leaderOf = async (asset: string) => {
        const [stream, consumer] = asset.split('/');
        return (await infoOf(stream!, consumer))?.cluster?.leader;
      };
      let kept: string[] = assets;
      await waitUntil(async () => {
        const leaders = await Promise.all(assets.map(leaderOf));
        kept = assets.filter((_, i) => leaders[i] === undefined || leaders[i] === name);
        return kept.length === 0;
      }, HAND_OVER_MS, `${name} hands its leaderships over`).catch(() => undefined);
      // What a lame duck could not hand over (no other replica current enough) is elected anew
      // once the server has gone, as when its lame duck period ends in production.
      await node.server.kill();
      return kept;
    },
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no cluster node ${name}`);
      return found;
    },
    async ready(timeoutMs = 20_000) {
      await waitUntil(async () => {
        const info = await request<{ error?: unknown }>('$JS.API.INFO');
        return info !== undefined && info.error === undefined;
      }, timeoutMs, 'a JetStream meta leader in the NATS cluster');
    },
    async streamHealthy(stream, timeoutMs = 20_000, consumer) {
      await waitUntil(async () => {
        const info = await infoOf(stream, consumer);
        // A consumer's replica on a server just restarted can report `current: false` for more than
        // 30 s on nats-server 2.9.10 while its leader works normally: for a consumer, a leader and
        // every replica online. A stream's replicas must be current (they hold the data).
        return !!info?.cluster?.leader && (info.cluster.replicas ?? []).every((r) => !r.offline && (consumer !== undefined || r.current));
      }, timeoutMs, `${consumer ?? stream} led with every replica ${consumer === undefined ? "current" : "online"}`);
    },
    async stop() {
      await nc?.close().catch(() => undefined);
      await Promise.all(nodes.map((n) => n.server.stop()));
    },
  };
  return cluster;
}
