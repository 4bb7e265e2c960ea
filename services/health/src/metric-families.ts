/**
 * Every family /metrics exposes, in the order it exposes them: its type, its help text and how
 * the instances' figures are combined: `sum` for each instance's own counts, `max` where every
 * instance reports the same figure (the cluster-wide call count) or where one is enough (a node
 * has ARI when any of its gateways has it). Names say which is which: `avb_controller_*` and
 * `avb_ari_*` are sums over instances, `avb_calls_active` is the cluster's.
 */

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum' | 'max';
  help: string;
}

const counter = (help: string): Family => ({ type: 'counter', aggregator: 'sum', help });
const gauge = (help: string, aggregator: Family['aggregator'] = 'sum'): Family => ({ type: 'gauge', aggregator, help });
const histogram = (help: string): Family => ({ type: 'histogram', aggregator: 'sum', help });

export const FAMILIES = {
  avb_health_nats_connected: gauge('Whether the health service reaches NATS (1) or not (0).', 'max'),
  avb_instances: gauge('Instances that answered $SRV.STATS in this discovery, by service.'),

  avb_calls_active: gauge('Calls in the shared call state now, cluster-wide (every node), as the controllers count it (at most once a second); not a sum over controllers.', 'max'),
  avb_calls_started_total: counter('Calls set up, summed over the controllers that answer.'),
  avb_calls_ended_total: counter('Calls ended (after setup or during it), summed over the controllers that answer.'),
  avb_calls_failed_total: counter('Calls whose setup failed, summed over the controllers that answer.'),
  avb_controller_calls_in_setup_or_teardown: gauge('Calls the controllers are setting up or tearing down right now, summed over the controllers.'),
  avb_call_setup_duration_seconds: histogram('From the caller\'s StasisStart to the call bridged with its media, summed over the controllers.'),
  avb_controller_events_dropped_total: counter('ARI events the controllers could not use (invalid).'),
  avb_controller_reconciliations_total: counter('Reconciliations run (Asterisk compared with the call state).'),
  avb_controller_reconcile_failures_total: counter('Reconciliations that could not be done (no gateway for the node, the call state unreadable); retried at the next run.'),
  avb_controller_reconcile_repairs_total: counter('What reconciliations repaired, by repair: call_ended (caller gone), bridge_removed, media_channel_removed (their call gone).'),
  avb_controller_reconcile_calls_refreshed_total: counter('Live calls whose state entry a reconciliation refreshed.'),
  avb_controller_media_path_degraded: gauge('Controllers whose media path is degraded now (media channels not up in time, media commands timing out), by transport.'),
  avb_controller_media_slow_total: counter('Media channels that took longer than MEDIA_DEGRADED_AFTER_MS to come up, by transport.'),
  avb_controller_media_timeouts_total: counter('ARI commands about media channels (and waits for them) that timed out, by transport.'),

  avb_ari_connected: gauge('Whether a gateway of the node has its ARI WebSocket connected (1) or none has (0).', 'max'),
  avb_ari_gateways: gauge('Gateways that answered, by node and role (active holds the node\'s ARI WebSocket, standby waits to take over).'),
  avb_ari_requests_total: counter('ARI commands handled by the gateways, by command and outcome (ok or an error code).'),
  avb_ari_request_duration_seconds: histogram('Latency of the ARI REST requests the gateways made, by command and outcome.'),
  avb_ari_unknown_commands_total: counter('Requests for a command that does not exist.'),
  avb_ari_events_relayed_total: counter('ARI events relayed to NATS, by event type (at most 256 types, the rest as _other).'),
  avb_ari_frames_dropped_total: counter('ARI WebSocket frames dropped, by reason.'),
  avb_ari_websocket_reconnects_total: counter('ARI WebSocket reconnect attempts.'),
  avb_ari_publish_failures_total: counter('Events and status messages the gateways could not publish on NATS, by reason (too_large, nats_down_buffer_full, ...).'),
  avb_event_stream_published_total: counter('Events the gateways published into the JetStream event stream.'),
  avb_event_stream_acks_total: counter('The event stream\'s answers to the events that ask for one (StasisStart, StasisEnd), by outcome: stored, duplicate, failed (refused, or none in time).'),
  avb_event_stream_retries_total: counter('StasisStart and StasisEnd events published again, with the same message id, after the stream did not store them.'),
  avb_event_stream_lost_total: counter('StasisStart and StasisEnd events given up after the retry period without being stored.'),
} as const satisfies Record<string, Family>;

export type FamilyName = keyof typeof FAMILIES;
