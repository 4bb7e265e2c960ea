/**
 * The /health verdict (pure): `ok` only when NATS is connected, every known node has an
 * ari-gateway whose ARI WebSocket is connected, at least one call-controller answers and no
 * controller reports its media path degraded (media channels not coming up in time: a stalled
 * chan_websocket client connection, say); `down` when NATS is unreachable; `degraded` otherwise,
 * with one problem per missing part.
 */
import type { Snapshot } from './discovery.js';
import type { InstanceView } from './instance-view.js';

export const HealthStatus = { Ok: 'ok', Degraded: 'degraded', Down: 'down' } as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

export interface CallTotals {
  /**
   * Cluster-wide: calls in the shared call state, as the controllers count it (the same figure
   * from each: the largest is taken, never the sum); from older controllers, the sum of their own.
   */
  active: number;
  /** Summed over the controllers that answer: being set up or torn down right now. */
  inSetupOrTeardown: number;
  /** Summed over the controllers that answer, each since it started. */
  started: number;
  ended: number;
  failed: number;
}

export interface HealthReport {
  status: HealthStatus;
  problems: string[];
  nats: 'connected' | 'disconnected';
  checkedAt: string;
  nodes: Record<string, { ariConnected: boolean }>;
  calls: CallTotals;
  instances: InstanceView[];
}

const UNKNOWN_NODE = 'unknown';

export function buildReport(snapshot: Snapshot, answering: InstanceView[], missing: InstanceView[]): HealthReport {
  const checkedAt = new Date(snapshot.at).toISOString();
  const calls = callTotals(snapshot);
  if (!snapshot.natsConnected) {
    return { status: HealthStatus.Down, problems: ['NATS unreachable'], nats: 'disconnected', checkedAt, nodes: {}, calls, instances: [] };
  }
  const instances = [...answering, ...missing];
  const problems: string[] = [];
  const gateways = instances.filter((i) => i.service === 'ari-gateway');
  if (!answering.some((i) => i.service === 'ari-gateway')) problems.push('no ari-gateway instance answers');

  const nodes: HealthReport['nodes'] = {};
  for (const node of new Set(gateways.map((g) => g.node ?? UNKNOWN_NODE))) {
    const here = gateways.filter((g) => (g.node ?? UNKNOWN_NODE) === node);
    const ariConnected = here.some((g) => g.answering && g.ari?.state === 'connected');
    nodes[node] = { ariConnected };
    // A standby gateway beside a connected one is how it should be, not a problem.
    if (!ariConnected) problems.push(`node ${node}: no ari-gateway connected to ARI (${here.map(describeGateway).join('; ')})`);
  }

  if (!answering.some((i) => i.service === 'call-controller')) {
    const gone = missing.filter((i) => i.service === 'call-controller').map((i) => i.instance ?? i.id);
    problems.push(`no call-controller instance answers${gone.length > 0 ? ` (last seen: ${gone.join(', ')})` : ''}`);
  }
  for (const c of answering.filter((i) => i.service === 'call-controller' && i.media?.state === 'degraded')) {
    const m = c.media!;
    const what = [m.transport, m.connection].filter(Boolean).join(' ');
    problems.push(`call-controller ${c.instance ?? c.id}: media path degraded${what ? ` (${what})` : ''}${m.since ? ` since ${m.since}` : ''}${m.reason ? `: ${m.reason}` : ''}`);
  }
  // An instance whose stats do not match the contract is listed with its `problem`; it still
  // answers, so it only costs the verdict where its data is needed (a gateway's ARI state).

  return {
    status: problems.length === 0 ? HealthStatus.Ok : HealthStatus.Degraded,
    problems, nats: 'connected', checkedAt, nodes, calls, instances,
  };
}

function describeGateway(g: InstanceView): string {
  const name = `ari-gateway ${g.instance ?? g.id}`;
  if (!g.answering) return `${name}: not answering since ${g.lastSeen}`;
  if (!g.ari) return `${name}: ARI state unknown${g.problem ? ` (${g.problem})` : ''}`;
  return `${name}: ARI ${g.ari.state} since ${g.ari.since}${g.ari.reason ? ` (${g.ari.reason})` : ''}`;
}

export function callTotals(snapshot: Snapshot): CallTotals {
  const data = snapshot.controllers.flatMap((c) => (c.data ? [c.data] : []));
  const clusterWide = data.flatMap((d) => (d.activeCalls === undefined ? [] : [d.activeCalls]));
  const sum = (pick: (d: (typeof data)[number]) => number) => data.reduce((n, d) => n + pick(d), 0);
  return {
    active: clusterWide.length > 0 ? Math.max(...clusterWide) : sum((d) => d.calls.active ?? 0),
    inSetupOrTeardown: sum((d) => d.calls.inSetupOrTeardown),
    started: sum((d) => d.calls.started),
    ended: sum((d) => d.calls.ended),
    failed: sum((d) => d.calls.failed),
  };
}
