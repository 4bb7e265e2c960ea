/**
 * /metrics (pure): the counters of every instance that answered, summed per label set. Labels are
 * low-cardinality by construction: service, node, command, outcome, event type, drop reason;
 * never a call, channel or instance id. A counter summed over instances drops when an instance
 * stops, which Prometheus' rate() treats as a counter reset.
 */
import type { MsHistogram } from '@avb/contracts';
import type { Snapshot } from './discovery.js';
import { callTotals } from './health-report.js';
import { addHistogram, PromText, type Labels } from './prometheus-text.js';

/** Sums numbers per label set, keeping the label sets in first-seen order. */
class Sums {
  private readonly rows = new Map<string, [Labels, number]>();
  add(labels: Labels, n: number): void {
    const k = JSON.stringify(labels);
    const row = this.rows.get(k);
    if (row) row[1] += n;
    else this.rows.set(k, [labels, n]);
  }
  samples(): Array<[Labels, number]> {
    return [...this.rows.values()];
  }
}

class Histograms {
  private readonly rows = new Map<string, [Labels, MsHistogram]>();
  add(labels: Labels, h: MsHistogram): void {
    const k = JSON.stringify(labels);
    const row = this.rows.get(k);
    if (row) addHistogram(row[1], h);
    else this.rows.set(k, [labels, addHistogram(undefined, h)]);
  }
  series(): Array<[Labels, MsHistogram]> {
    return [...this.rows.values()];
  }
}

export function renderMetrics(snapshot: Snapshot): string {
  const out = new PromText();
  const gateways = snapshot.gateways.flatMap((g) => (g.data ? [{ node: g.data.node ?? g.metadata.node ?? 'unknown', d: g.data }] : []));
  const controllers = snapshot.controllers.flatMap((c) => (c.data ? [c.data] : []));

  out.family('avb_health_nats_connected', 'gauge', 'Whether the health service reaches NATS (1) or not (0).', [[{}, snapshot.natsConnected ? 1 : 0]]);
  out.family('avb_instances', 'gauge', 'Instances that answered $SRV.STATS, by service.', [
    [{ service: 'ari-gateway' }, snapshot.gateways.length],
    [{ service: 'call-controller' }, snapshot.controllers.length],
  ]);
  const ariConnected = new Map<string, number>();
  for (const { node, d } of gateways) ariConnected.set(node, Math.max(ariConnected.get(node) ?? 0, d.ari.state === 'connected' ? 1 : 0));
  out.family('avb_ari_connected', 'gauge', 'Whether a gateway of the node has its ARI WebSocket connected.', [...ariConnected].map(([node, v]) => [{ node }, v]));

  const calls = callTotals(snapshot);
  out.family('avb_calls_active', 'gauge', 'Calls in progress, cluster-wide.', [[{}, calls.active]]);
  out.family('avb_calls_started_total', 'counter', 'Calls set up successfully.', [[{}, calls.started]]);
  out.family('avb_calls_ended_total', 'counter', 'Calls ended after being set up or during setup.', [[{}, calls.ended]]);
  out.family('avb_calls_failed_total', 'counter', 'Calls whose setup failed.', [[{}, calls.failed]]);
  const setup = new Histograms();
  for (const d of controllers) setup.add({}, d.calls.setupMs);
  out.histogramSeconds('avb_call_setup_duration_seconds', 'From the caller\'s StasisStart to the call being bridged with its media.', setup.series());
  const controllerDrops = new Sums();
  controllerDrops.add({}, controllers.reduce((n, d) => n + d.calls.eventsDropped, 0));
  out.family('avb_controller_events_dropped_total', 'counter', 'ARI events the controllers could not use (invalid).', controllerDrops.samples());

  const requests = new Sums();
  const latency = new Histograms();
  const relayed = new Sums();
  const dropped = new Sums();
  const reconnects = new Sums();
  const unknown = new Sums();
  for (const { node, d } of gateways) {
    for (const [command, c] of Object.entries(d.commands)) {
      requests.add({ node, command, outcome: 'ok' }, c.ok);
      for (const [code, n] of Object.entries(c.codes)) requests.add({ node, command, outcome: code }, n);
      for (const [outcome, h] of Object.entries(c.latencyMs ?? {})) latency.add({ node, command, outcome }, h);
    }
    for (const [type, n] of Object.entries(d.eventsRelayed)) relayed.add({ node, type }, n);
    for (const [reason, n] of Object.entries(d.framesDropped)) dropped.add({ node, reason }, n);
    reconnects.add({ node }, d.reconnects);
    unknown.add({ node }, d.unknownCommands);
  }
  out.family('avb_ari_requests_total', 'counter', 'ARI commands handled by the gateways, by command and outcome (ok or error code).', requests.samples());
  out.histogramSeconds('avb_ari_request_duration_seconds', 'Latency of the ARI REST requests the gateways made, by command and outcome.', latency.series());
  out.family('avb_ari_unknown_commands_total', 'counter', 'Requests for a command that does not exist.', unknown.samples());
  out.family('avb_ari_events_relayed_total', 'counter', 'ARI events relayed to NATS, by event type.', relayed.samples());
  out.family('avb_ari_frames_dropped_total', 'counter', 'ARI WebSocket frames dropped, by reason.', dropped.samples());
  out.family('avb_ari_websocket_reconnects_total', 'counter', 'ARI WebSocket reconnect attempts.', reconnects.samples());
  return out.toString();
}
