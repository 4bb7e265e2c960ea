import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ControllerStatsData, GatewayStatsData } from '@avb/contracts';
import { cached } from './cached.js';
import type { Answer, Snapshot } from './discovery.js';
import { buildReport } from './health-report.js';
import { createInstanceMemory } from './instance-memory.js';
import { viewInstances } from './instance-view.js';
import { renderMetrics } from './metrics.js';

const hist = (count: number) => ({ count, sum: count * 3, buckets: { '5': count, '10': count, '+Inf': count } });
const gw = (id: string, node: string, state: string): Answer<GatewayStatsData> => ({
  id, version: '0.1.0', started: new Date(0).toISOString(), metadata: { node },
  data: {
    node, instance: `gw-${id}`, ari: { state, since: '2026-01-01T00:00:00.000Z' },
    eventsRelayed: { StasisStart: 2 }, framesDropped: {}, reconnects: 1, unknownCommands: 0,
    commands: { 'channels.answer': { ok: 2, error: 1, codes: { not_found: 1 }, latencyMsSum: 6, latencyCount: 3, latencyMs: { ok: hist(2), not_found: hist(1) } } },
  },
});
const cc = (id: string, active: number, activeCalls?: number): Answer<ControllerStatsData> => ({
  id, version: '0.1.0', started: new Date(0).toISOString(), metadata: {},
  data: {
    instance: `cc-${id}`, app: 'ai_app', startedAt: new Date(0).toISOString(), uptimeSeconds: 1,
    ...(activeCalls === undefined ? {} : { activeCalls }),
    calls: { active, started: 3, ended: 2, failed: 1, eventsDropped: 0, setupMs: hist(3) },
  },
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
  it('takes the cluster-wide active calls as a max, else sums the instances', () => {
    assert.equal(report(snap([], [cc('a', 2), cc('b', 3)])).calls.active, 5);
    assert.equal(report(snap([], [cc('a', 2, 7), cc('b', 3, 6)])).calls.active, 7);
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
  it('sums the instances per label set', () => {
    const text = renderMetrics(snap([gw('a', 'pbx1', 'connected'), gw('b', 'pbx1', 'connected')], [cc('c', 1), cc('d', 2)]));
    assert.match(text, /^avb_calls_started_total 6$/m);
    assert.match(text, /^avb_calls_active 3$/m);
    assert.match(text, /^avb_ari_requests_total\{node="pbx1",command="channels.answer",outcome="not_found"\} 2$/m);
    assert.match(text, /^avb_ari_request_duration_seconds_bucket\{node="pbx1",command="channels.answer",outcome="ok",le="0.005"\} 4$/m);
    assert.match(text, /^avb_call_setup_duration_seconds_count 6$/m);
    assert.match(text, /^avb_call_setup_duration_seconds_sum 0.018$/m);
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
