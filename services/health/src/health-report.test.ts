import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerStatsData, GatewayStatsData } from '@avb/contracts';
import { cached } from './cached.js';
import type { Answer, Snapshot } from './discovery.js';
import { buildReport } from './health-report.js';
import { createInstanceMemory } from './instance-memory.js';
import { viewInstances } from './instance-view.js';
import { renderMetrics } from './metrics.js';

const hist = (count: number) => ({ count, sum: count * 3, buckets: { '5': count, '10': count, '+Inf': count } });
// Through the contract's schemas, as discovery reads them: defaults filled in.
const gw = (id: string, node: string, state: string, role = 'active'): Answer<GatewayStatsData> => ({
  id, version: '0.1.0', started: new Date(0).toISOString(), metadata: { node },
  data: GatewayStatsData.parse({
    node, instance: `gw-${id}`, role, ari: { state, since: '2026-01-01T00:00:00.000Z' },
    eventsRelayed: { StasisStart: 2 }, framesDropped: {}, reconnects: 1, unknownCommands: 0,
    commands: { 'channels.answer': { ok: 2, error: 1, codes: { not_found: 1 }, latencyMsSum: 6, latencyCount: 3, latencyMs: { ok: hist(2), not_found: hist(1) } } },
    publishFailed: { too_large: 1 },
    stream: { published: 10, stored: 4, duplicates: 1, failed: 0 },
  }),
});
/** A controller: its own calls in setup or teardown, and (new controllers) the cluster-wide count. */
const cc = (id: string, inSetupOrTeardown: number, activeCalls?: number): Answer<ControllerStatsData> => ({
  id, version: '0.1.0', started: new Date(0).toISOString(), metadata: {},
  data: ControllerStatsData.parse({
    instance: `cc-${id}`, app: 'ai_app', startedAt: new Date(0).toISOString(), uptimeSeconds: 1,
    ...(activeCalls === undefined ? {} : { activeCalls }),
    calls: { inSetupOrTeardown, started: 3, ended: 2, failed: 1, eventsDropped: 0, setupMs: hist(3) },
    reconcile: { runs: 2, callsEnded: 1, bridgesRemoved: 0, mediaChannelsRemoved: 1, callsRefreshed: 5 },
  }),
});
/** An older controller: its own active calls, no cluster-wide count. */
const oldCc = (id: string, active: number): Answer<ControllerStatsData> => ({
  id, version: '0.0.9', started: new Date(0).toISOString(), metadata: {},
  data: ControllerStatsData.parse({ instance: `cc-${id}`, calls: { active, started: 3, ended: 2, failed: 1, eventsDropped: 0, setupMs: hist(3) } }),
});
const snap = (gateways: Answer<GatewayStatsData>[], controllers: Answer<ControllerStatsData>[], natsConnected = true): Snapshot =>
  ({ at: 10_000, natsConnected, gateways, controllers });
const report = (s: Snapshot) => buildReport(s, viewInstances(s), []);

describe('buildReport', () => {
  it('is ok with NATS, a connected gateway per node and a controller', () => {
    const r = report(snap([gw('a', 'pbx1', 'connected')], [cc('b', 1)]));
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.problems, []);
    assert.equal(r.instances.length, 2);
  });
  it('accepts a standby gateway beside a connected one, not a node with none connected', () => {
    assert.equal(report(snap([gw('a', 'pbx1', 'connected'), gw('b', 'pbx1', 'standby')], [cc('c', 0)])).status, 'ok');
    const r = report(snap([gw('a', 'pbx1', 'connected'), gw('b', 'pbx2', 'disconnected')], [cc('c', 0)]));
    assert.equal(r.status, 'degraded');
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /^node pbx2: .*gw-b: ARI disconnected since/);
  });
  it('names the missing parts, and is down without NATS', () => {
    const r = report(snap([gw('a', 'pbx1', 'connected')], []));
    assert.deepEqual(r.problems, ['no call-controller instance answers']);
    assert.deepEqual(report(snap([], [cc('b', 0)])).problems, ['no ari-gateway instance answers']);
    assert.equal(report(snap([], [], false)).status, 'down');
  });
  it('lists an instance with stats off the contract; only a gateway\'s unknown ARI state costs the verdict', () => {
    const odd = { id: 'x', version: '9.9.9', started: new Date(0).toISOString(), metadata: { node: 'pbx1' }, data: undefined, invalid: 'stats do not match the contract: ari Required' };
    const ok = report(snap([gw('a', 'pbx1', 'connected')], [cc('b', 0), odd]));
    assert.equal(ok.status, 'ok');
    assert.equal(ok.instances.find((i) => i.id === 'x')?.problem, odd.invalid);
    const r = report(snap([odd], [cc('b', 0)]));
    assert.equal(r.status, 'degraded');
    assert.match(r.problems[0]!, /^node pbx1: no ari-gateway connected to ARI \(ari-gateway x: ARI state unknown \(stats do not match the contract/);
  });
  it('names the cluster-wide figure apart from each instance\'s: two controllers are not twice the calls', () => {
    const r = report(snap([], [cc('a', 2, 7), cc('b', 3, 7)]));
    assert.deepEqual(r.calls, { active: 7, inSetupOrTeardown: 5, started: 6, ended: 4, failed: 2 });
    // Each instance lists its own figures, never the cluster's.
    const controllers = r.instances.filter((i) => i.service === 'call-controller');
    assert.deepEqual(controllers.map((i) => i.calls), [
      { inSetupOrTeardown: 2, started: 3, ended: 2, failed: 1 },
      { inSetupOrTeardown: 3, started: 3, ended: 2, failed: 1 },
    ]);
    assert.ok(controllers.every((i) => !('activeCalls' in i)));
    // Counted a moment apart, the figures may differ: the largest is taken, never the sum.
    assert.equal(report(snap([], [cc('a', 2, 7), cc('b', 3, 6)])).calls.active, 7);
    // Older controllers knew only their own calls: then those are summed.
    assert.equal(report(snap([], [oldCc('a', 2), oldCc('b', 3)])).calls.active, 5);
  });
});

describe('instance memory', () => {
  it('lists an instance that stopped answering, then forgets it', () => {
    const memory = createInstanceMemory(1000);
    const seen = viewInstances(snap([gw('a', 'pbx1', 'connected')], [cc('b', 0)]));
    assert.deepEqual(memory.update(seen, 0), []);
    const missing = memory.update(seen.slice(1), 500);
    assert.equal(missing.length, 1);
    assert.equal(missing[0]!.answering, false);
    const r = buildReport(snap([], [cc('b', 0)]), seen.slice(1), missing);
    assert.ok(r.problems.some((p) => /node pbx1: .*gw-a: not answering since/.test(p)), r.problems.join('|'));
    assert.deepEqual(memory.update(seen.slice(1), 2000), []);
  });
});

describe('renderMetrics', () => {
  it('sums each instance\'s figures per label set, and takes the cluster-wide ones once', async () => {
    const text = await renderMetrics(snap([gw('a', 'pbx1', 'connected'), gw('b', 'pbx1', 'standby', 'standby')], [cc('c', 1, 9), cc('d', 2, 8)]));
    assert.match(text, /^avb_calls_started_total 6$/m);
    assert.match(text, /^avb_calls_active 9$/m);
    assert.match(text, /^avb_controller_calls_in_setup_or_teardown 3$/m);
    assert.match(text, /^avb_ari_requests_total\{node="pbx1",command="channels.answer",outcome="not_found"\} 2$/m);
    assert.match(text, /^avb_ari_request_duration_seconds_bucket\{node="pbx1",command="channels.answer",outcome="ok",le="0.005"\} 4$/m);
    assert.match(text, /^avb_call_setup_duration_seconds_count 6$/m);
    assert.match(text, /^avb_call_setup_duration_seconds_sum 0.018$/m);
    assert.match(text, /^avb_ari_connected\{node="pbx1"\} 1$/m);
    assert.match(text, /^avb_ari_gateways\{node="pbx1",role="standby"\} 1$/m);
  });
  it('carries every counter the instances keep, each family with HELP and TYPE', async () => {
    const text = await renderMetrics(snap([gw('a', 'pbx1', 'connected')], [cc('c', 1, 9)]));
    assert.match(text, /^avb_ari_publish_failures_total\{node="pbx1",reason="too_large"\} 1$/m);
    assert.match(text, /^avb_event_stream_published_total\{node="pbx1"\} 10$/m);
    assert.match(text, /^avb_event_stream_acks_total\{node="pbx1",outcome="duplicate"\} 1$/m);
    assert.match(text, /^avb_controller_reconciliations_total 2$/m);
    assert.match(text, /^avb_controller_reconcile_repairs_total\{repair="media_channel_removed"\} 1$/m);
    assert.match(text, /^avb_controller_reconcile_calls_refreshed_total 5$/m);
    const names = [...text.matchAll(/^([a-z_]+)(?:\{| )/gm)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
    for (const name of new Set(names)) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), name);
    }
  });
  it('declares every family even with nobody answering', async () => {
    const text = await renderMetrics(snap([], [], false));
    assert.match(text, /^avb_health_nats_connected 0$/m);
    assert.match(text, /^# TYPE avb_event_stream_acks_total counter$/m);
    assert.match(text, /^# TYPE avb_call_setup_duration_seconds histogram$/m);
  });
});

describe('cached', () => {
  it('shares one load while fresh, serves the previous result while refreshing, waits when too old', async () => {
    let t = 0;
    let loads = 0;
    let release: (() => void) | undefined;
    const get = cached(async () => {
      loads += 1;
      if (loads > 1) await new Promise<void>((r) => (release = r));
      return loads;
    }, 100, 200, () => t);
    assert.deepEqual(await Promise.all([get(), get(), get()]), [1, 1, 1]);
    t = 99;
    assert.equal(await get(), 1);
    t = 150; // stale: a refresh starts, callers still get 1 without waiting
    assert.deepEqual(await Promise.all([get(), get()]), [1, 1]);
    assert.equal(loads, 2);
    release!();
    await new Promise((r) => setImmediate(r));
    assert.equal(await get(), 2);
    t = 1000; // far too old: the caller waits for the new load
    const waiting = get();
    await new Promise((r) => setImmediate(r));
    release!();
    assert.equal(await waiting, 3);
  });
});
