/**
 * /metrics: every figure the instances report, as Prometheus families. Each instance's figures
 * become prom-client metric objects, and prom-client's AggregatorRegistry sums them per label set
 * (or takes the largest, for figures every instance reports alike) and writes the exposition
 * format, so escaping, `# HELP`/`# TYPE` and histogram series are its job, not ours. Labels are
 * low-cardinality by construction: service, node, role, command, outcome, event type, reason;
 * never a call, channel or instance id. A counter summed over instances drops when an instance
 * stops, which Prometheus' rate() treats as a counter reset.
 */
import type { ControllerStatsData, GatewayStatsData, MsHistogram } from '@avb/contracts';
import { AggregatorRegistry } from 'prom-client';
import type { Snapshot } from './discovery.js';
import { callTotals } from './health-report.js';
import { FAMILIES, type FamilyName } from './metric-families.js';

type Labels = Record<string, string>;
interface Value {
  value: number;
  labels: Labels | Record<string, string | number>;
  metricName?: string;
}
/** The metric object prom-client's registries exchange (`getMetricsAsJSON()`), which `aggregate` reads. */
interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Value[];
}

const family = (name: FamilyName, values: Value[]): MetricJson => ({ name, ...FAMILIES[name], values });
const samples = (entries: Iterable<[string, number]>, label: string, base: Labels): Value[] =>
  [...entries].map(([k, value]) => ({ labels: { ...base, [label]: k }, value }));

/** A histogram kept in ms, as the `_bucket`/`_sum`/`_count` series of one in seconds. */
function histogramValues(name: FamilyName, labels: Labels, h: MsHistogram): Value[] {
  const bounds = Object.keys(h.buckets).filter((le) => le !== '+Inf').sort((a, b) => Number(a) - Number(b));
  return [
    ...bounds.map((le) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: Number(le) / 1000 }, value: h.buckets[le] ?? 0 })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.buckets['+Inf'] ?? h.count },
    // The ms sums have 3 decimals: 6 in seconds, without float noise (0.19328299999999998).
    { metricName: `${name}_sum`, labels, value: Math.round(h.sum * 1000) / 1e6 },
    { metricName: `${name}_count`, labels, value: h.count },
  ];
}

function gatewayMetrics(fallbackNode: string | undefined, d: GatewayStatsData): MetricJson[] {
  const node = d.node ?? fallbackNode ?? 'unknown';
  const at = { node };
  const requests: Value[] = [];
  const latency: Value[] = [];
  for (const [command, c] of Object.entries(d.commands)) {
    requests.push({ labels: { node, command, outcome: 'ok' }, value: c.ok });
    requests.push(...samples(Object.entries(c.codes), 'outcome', { node, command }));
    for (const [outcome, h] of Object.entries(c.latencyMs ?? {})) latency.push(...histogramValues('avb_ari_request_duration_seconds', { node, command, outcome }, h));
  }
  return [
    family('avb_ari_connected', [{ labels: at, value: d.ari.state === 'connected' ? 1 : 0 }]),
    family('avb_ari_gateways', [{ labels: { node, role: d.role ?? 'active' }, value: 1 }]),
    family('avb_ari_requests_total', requests),
    family('avb_ari_request_duration_seconds', latency),
    family('avb_ari_unknown_commands_total', [{ labels: at, value: d.unknownCommands }]),
    family('avb_ari_events_relayed_total', samples(Object.entries(d.eventsRelayed), 'type', at)),
    family('avb_ari_frames_dropped_total', samples(Object.entries(d.framesDropped), 'reason', at)),
    family('avb_ari_websocket_reconnects_total', [{ labels: at, value: d.reconnects }]),
    family('avb_ari_publish_failures_total', samples(Object.entries(d.publishFailed), 'reason', at)),
    family('avb_event_stream_published_total', [{ labels: at, value: d.stream.published }]),
    family('avb_event_stream_acks_total', samples([['stored', d.stream.stored], ['duplicate', d.stream.duplicates], ['failed', d.stream.failed]], 'outcome', at)),
    family('avb_event_stream_retries_total', [{ labels: at, value: d.stream.retried }]),
    family('avb_event_stream_lost_total', [{ labels: at, value: d.stream.lost }]),
  ];
}

function controllerMetrics(d: ControllerStatsData): MetricJson[] {
  const r = d.reconcile;
  return [
    family('avb_calls_started_total', [{ labels: {}, value: d.calls.started }]),
    family('avb_calls_ended_total', [{ labels: {}, value: d.calls.ended }]),
    family('avb_calls_failed_total', [{ labels: {}, value: d.calls.failed }]),
    family('avb_controller_calls_in_setup_or_teardown', [{ labels: {}, value: d.calls.inSetupOrTeardown }]),
    family('avb_call_setup_duration_seconds', histogramValues('avb_call_setup_duration_seconds', {}, d.calls.setupMs)),
    family('avb_controller_events_dropped_total', [{ labels: {}, value: d.calls.eventsDropped }]),
    family('avb_controller_reconciliations_total', [{ labels: {}, value: r.runs }]),
    family('avb_controller_reconcile_failures_total', [{ labels: {}, value: r.failed }]),
    family('avb_controller_reconcile_repairs_total', samples(
      [['call_ended', r.callsEnded], ['bridge_removed', r.bridgesRemoved], ['media_channel_removed', r.mediaChannelsRemoved], ['caller_adopted', r.callersAdopted]], 'repair', {},
    )),
    family('avb_controller_reconcile_calls_refreshed_total', [{ labels: {}, value: r.callsRefreshed }]),
    ...(d.media === undefined ? [] : mediaMetrics(d.media)),
  ];
}

function mediaMetrics(m: NonNullable<ControllerStatsData['media']>): MetricJson[] {
  const labels = { transport: [m.transport ?? 'unknown', m.connection].filter(Boolean).join('_') };
  return [
    family('avb_controller_media_path_degraded', [{ labels, value: m.state === 'degraded' ? 1 : 0 }]),
    family('avb_controller_media_slow_total', [{ labels, value: m.slow }]),
    family('avb_controller_media_timeouts_total', [{ labels, value: m.timeouts }]),
  ];
}

/** The figures of the cluster and of this health service itself. */
function clusterMetrics(snapshot: Snapshot): MetricJson[] {
  return [
    family('avb_health_nats_connected', [{ labels: {}, value: snapshot.natsConnected ? 1 : 0 }]),
    family('avb_instances', [
      { labels: { service: 'ari-gateway' }, value: snapshot.gateways.length },
      { labels: { service: 'call-controller' }, value: snapshot.controllers.length },
    ]),
    family('avb_calls_active', [{ labels: {}, value: callTotals(snapshot).active }]),
  ];
}

/** The exposition text of one discovery. */
export async function renderMetrics(snapshot: Snapshot): Promise<string> {
  // Every family first, empty: each is declared even when no instance reports it (a known zero,
  // or a known absence, is worth a line), and in the same order on every scrape.
  const declared = (Object.keys(FAMILIES) as FamilyName[]).map((name) => family(name, []));
  const perInstance = [
    ...snapshot.gateways.flatMap((g) => (g.data ? [gatewayMetrics(g.metadata.node, g.data)] : [])),
    ...snapshot.controllers.flatMap((c) => (c.data ? [controllerMetrics(c.data)] : [])),
  ];
  return AggregatorRegistry.aggregate([declared, clusterMetrics(snapshot), ...perInstance]).metrics();
}

/** The Content-Type of what renderMetrics writes. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
