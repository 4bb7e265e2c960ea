/**
 * The health service against the real stack: /health and /metrics over HTTP, discovery over the
 * NATS services API, and what happens when an instance hangs, stops or returns, or NATS goes away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AriSimulator } from '@avb/ari-simulator';
import { subjects } from '@avb/contracts';
import { burst, getHealth, getMetrics, waitForHealth, type HealthBody } from './harness/health-client.js';
import { parsePrometheusText } from './harness/prom-text.js';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { APP, ARI_PASSWORD, ARI_USER, NODE, nothingLeft, startStack, type Stack } from './harness/stack.js';
import { freePort, sleep, waitUntil } from './harness/util.js';
import { collect } from './harness/gateway-client.js';

/** What the issue promises: a verdict within 1 s, a change seen within 5 s. */
const ANSWER_MS = 1000;
const NOTICE_MS = 5000;

describe('the exposition reader the tests use', () => {
  const family = (lines: string) => `# HELP a x\n# TYPE a counter\n${lines}`;
  it('refuses what Prometheus would, and what a parser lets through', () => {
    const refused: Array<[string, RegExp]> = [
      [family('a{b=c} 1\n'), /invalid line/],
      ['a 1\n', /no # TYPE/],
      ['# TYPE a counter\na 1\n', /no # HELP/],
      [`${family('a 1\n')}${family('a 2\n')}`, /declared twice/],
      [family('a{b="c",d="e"} 1\na{d="e",b="c"} 2\n'), /series repeated/],
      ['# HELP h x\n# TYPE h histogram\nh_bucket{x="1",le="1"} 3\nh_bucket{x="1",le="+Inf"} 2\nh_sum{x="1"} 1\nh_count{x="1"} 2\n', /buckets decrease/],
      ['# HELP h x\n# TYPE h histogram\nh_bucket{x="1",le="+Inf"} 2\nh_sum{x="1"} 1\nh_count{x="1"} 3\n', /!= _count/],
      [family('a 1'), /end with a newline/],
    ];
    for (const [text, why] of refused) assert.throws(() => parsePrometheusText(text), why, text);
    const ok = parsePrometheusText('# HELP h x\n# TYPE h histogram\nh_bucket{x="1",le="0.5"} 1\nh_bucket{x="1",le="+Inf"} 2\nh_sum{x="1"} 0.7\nh_count{x="1"} 2\nh_bucket{x="2",le="0.5"} 0\nh_bucket{x="2",le="+Inf"} 0\nh_sum{x="2"} 0\nh_count{x="2"} 0\n');
    assert.equal(ok.value('h_count', { x: '1' }), 2);
    assert.equal(ok.sum('h_bucket', { le: '+Inf' }), 2);
  });
});

describe('health', () => {
  let stack: Stack;
  let health: ServiceProcess;
  let base: string;
  const extra: ServiceProcess[] = [];
  const sims: AriSimulator[] = [];

  before(async () => {
    stack = await startStack({ controllers: 1 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    health = startService('health', { NATS_URL: stack.nats.url, HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1', LOG_LEVEL: 'debug' });
    await health.waitForLog(logMsg('ready'), 10_000, 'health ready');
  });
  after(async () => {
    for (const p of extra) await p.stop();
    for (const sim of sims) await sim.stop();
    await health?.stop();
    await stack?.stop();
  });

  const startGateway = async () => {
    const gw = startService('ari-gateway', {
      NATS_URL: stack.nats.url, ARI_BASE_URL: stack.sim.baseUrl, ARI_USER, ARI_PASSWORD, ARI_APP: APP, ARI_NODE: NODE,
      ARI_RECONNECT_MIN_MS: '50',
    });
    extra.push(gw);
    await gw.waitForLog(logMsg('ARI connected'), 15_000, 'ARI connected');
    return gw;
  };

  it('is live, and every status line has its reason phrase', async () => {
    const res = await fetch(`${base}/health/live`);
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'OK');
    assert.deepEqual(await res.json(), { status: 'ok' });
    const missing = await fetch(`${base}/nothing-here`);
    assert.deepEqual([missing.status, missing.statusText], [404, 'Not Found']);
  });

  it('is ok with a connected gateway and a controller, and lists each instance', async () => {
    const h = await waitForHealth(base, (r) => r.status === 200, NOTICE_MS, '/health 200');
    assert.equal(h.body.status, 'ok');
    assert.equal(h.body.nats, 'connected');
    assert.deepEqual(h.body.problems, []);
    assert.deepEqual(h.body.nodes, { [NODE]: { ariConnected: true } });
    const gw = h.body.instances.find((i) => i.service === 'ari-gateway');
    const cc = h.body.instances.find((i) => i.service === 'call-controller');
    assert.ok(gw && cc, JSON.stringify(h.body.instances));
    assert.equal(gw.node, NODE);
    assert.equal(gw.ari?.state, 'connected');
    assert.ok(!Number.isNaN(Date.parse(gw.ari.since)));
    assert.equal(gw.version, '0.1.0');
    assert.equal(gw.answering, true);
    assert.ok(gw.uptimeSeconds >= 0 && typeof gw.instance === 'string');
    // A controller lists its own figures; the cluster's are the report's `calls` alone.
    assert.deepEqual(cc.calls, { inSetupOrTeardown: 0, started: 0, ended: 0, failed: 0 });
    assert.ok(!('activeCalls' in cc));
    assert.equal(gw.role, 'active');
    assert.equal(h.statusText, 'OK');
    assert.equal(cc.version, '0.1.0');
    assert.equal(h.body.instances.length, 2);
  });

  it('/metrics parses as Prometheus text, carries every counter, and its counters match the calls placed', async (t) => {
    const calls = 12;
    const events = collect(stack.nc, subjects.callEvents(APP));
    await stack.nc.flush();
    // Held long enough that every call is set up before its caller hangs up, even on a busy machine.
    await stack.sim.runLoad({ count: calls, rate: 20, holdMs: 1500, timeoutMs: 20_000 });
    await nothingLeft(stack.sim, `${calls} calls`);
    await waitUntil(() => events.json().filter((e) => e.kind === 'ended').length === calls, NOTICE_MS, 'ended events');
    events.stop();
    const kinds = (kind: string) => events.json().filter((e) => e.kind === kind).length;
    assert.equal(kinds('started'), calls);
    let metrics = await getMetrics(base);
    for (const deadline = Date.now() + NOTICE_MS; metrics.parsed.value('avb_calls_ended_total') !== calls && Date.now() < deadline;) {
      await sleep(200);
      metrics = await getMetrics(base);
    }
    // Each StasisStart and StasisEnd (caller's and media channel's) asks the stream for an ack.
    // A call's end is reported as soon as it is claimed, before its teardown's last replies and
    // writes are in: the in-setup-or-teardown gauge comes down a moment after the last `ended`.
    const stored = (x: typeof metrics) => x.parsed.value('avb_event_stream_acks_total', { node: NODE, outcome: 'stored' });
    const settled = (x: typeof metrics) => stored(x) === 4 * calls && x.parsed.value('avb_controller_calls_in_setup_or_teardown') === 0;
    for (const deadline = Date.now() + NOTICE_MS; !settled(metrics) && Date.now() < deadline;) {
      await sleep(200);
      metrics = await getMetrics(base);
    }
    const m = metrics.parsed;
    t.diagnostic(`${m.types.size} families, ${m.samples.length} series`);
    assert.match(metrics.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    // Every figure the services keep, each family declared with its help and type (the parser
    // refuses a family without them).
    const families: Array<[string, string]> = [
      ['avb_calls_active', 'gauge'], ['avb_controller_calls_in_setup_or_teardown', 'gauge'],
      ['avb_controller_reconciliations_total', 'counter'], ['avb_controller_reconcile_repairs_total', 'counter'],
      ['avb_controller_reconcile_calls_refreshed_total', 'counter'], ['avb_controller_events_dropped_total', 'counter'],
      ['avb_ari_publish_failures_total', 'counter'], ['avb_event_stream_published_total', 'counter'],
      ['avb_event_stream_acks_total', 'counter'], ['avb_ari_gateways', 'gauge'], ['avb_call_setup_duration_seconds', 'histogram'],
    ];
    for (const [name, type] of families) assert.equal(m.types.get(name), type, name);
    assert.equal(stored(metrics), 4 * calls, 'stream acks: stored');
    assert.equal(m.value('avb_event_stream_acks_total', { node: NODE, outcome: 'failed' }), 0);
    assert.ok((m.value('avb_event_stream_published_total', { node: NODE }) ?? 0) >= 4 * calls);
    assert.equal(m.sum('avb_ari_publish_failures_total'), 0);
    assert.equal(m.value('avb_controller_calls_in_setup_or_teardown'), 0);
    assert.equal(m.value('avb_ari_gateways', { node: NODE, role: 'active' }), 1);
    // The counters equal the call events the controllers published, and the calls placed.
    assert.equal(m.value('avb_calls_started_total'), kinds('started'));
    assert.equal(m.value('avb_calls_ended_total'), kinds('ended'));
    assert.equal(m.value('avb_calls_failed_total'), kinds('failed'));
    assert.equal(m.value('avb_calls_ended_total'), calls);
    assert.equal(m.value('avb_calls_active'), 0);
    assert.equal(m.value('avb_call_setup_duration_seconds_count'), calls);
    for (const command of ['channels.answer', 'bridges.create', 'channels.externalMedia', 'bridges.addChannel', 'bridges.destroy']) {
      assert.equal(m.value('avb_ari_requests_total', { node: NODE, command, outcome: 'ok' }), calls, command);
      assert.equal(m.value('avb_ari_request_duration_seconds_count', { node: NODE, command, outcome: 'ok' }), calls, command);
    }
    // The caller's and the media channel's StasisStart for each call.
    assert.equal(m.value('avb_ari_events_relayed_total', { node: NODE, type: 'StasisStart' }), 2 * calls);
    assert.equal(m.value('avb_ari_connected', { node: NODE }), 1);
    assert.equal(m.value('avb_ari_websocket_reconnects_total', { node: NODE }), 0);
    assert.equal(m.value('avb_instances', { service: 'call-controller' }), 1);
    assert.equal(m.types.get('avb_ari_request_duration_seconds'), 'histogram');
    // Low cardinality: no label value is a call or channel id.
    const ids = new Set([...stack.sim.calls.keys()]);
    for (const s of m.samples) for (const v of Object.values(s.labels)) assert.ok(!ids.has(v) && !/^[0-9a-f-]{36}$/.test(v), `${s.name} ${v}`);
    const h = await getHealth(base);
    assert.deepEqual(h.body.calls, { active: 0, inSetupOrTeardown: 0, started: calls, ended: calls, failed: 0 });
    assert.deepEqual(h.body.instances.find((i) => i.service === 'call-controller')?.calls, { inSetupOrTeardown: 0, started: calls, ended: calls, failed: 0 });
  });

  it('never shows a secret', async () => {
    const h = await fetch(`${base}/health`).then((r) => r.text());
    const { text } = await getMetrics(base);
    for (const body of [h, text]) assert.ok(!body.includes(ARI_PASSWORD));
    assert.ok(!health.lines.some((l) => l.raw.includes(ARI_PASSWORD)));
  });

  it('ignores a broken responder and lists one whose stats are off the contract', async () => {
    const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
    const garbage = stack.nc.subscribe('$SRV.STATS.call-controller', { callback: (_e, m) => m.respond(enc('not json {')) });
    const odd = stack.nc.subscribe('$SRV.STATS.call-controller', {
      callback: (_e, m) => m.respond(enc({ type: 'io.nats.micro.v1.stats_response', name: 'call-controller', id: 'ODD1', version: '9.9.9', started: new Date().toISOString(), endpoints: [{ name: 'status', data: { calls: 'many' } }] })),
    });
    await stack.nc.flush();
    try {
      const h = await waitForHealth(base, (r) => r.body.instances.some((i) => i.id === 'ODD1'), NOTICE_MS, 'the odd instance listed');
      assert.equal(h.status, 200, h.body.problems.join('|'));
      const controllers = h.body.instances.filter((i) => i.service === 'call-controller' && i.answering);
      assert.equal(controllers.length, 2, 'the real controller and the odd one; the garbage is ignored');
      assert.match((controllers.find((i) => i.id === 'ODD1') as { problem?: string }).problem ?? '', /^stats do not match the contract: calls/);
    } finally {
      garbage.unsubscribe();
      odd.unsubscribe();
    }
  });

  it('stays cheap under hundreds of requests per second: one discovery per cache interval', async (t) => {
    const asked: string[] = [];
    const sub = stack.nc.subscribe('$SRV.STATS.>', { callback: (_e, msg) => asked.push(msg.subject) });
    await stack.nc.flush();
    const r = await burst(`${base}/health`, 2000, 50);
    sub.unsubscribe();
    t.diagnostic(`2000 GET /health, 50 in flight: ${r.perSecond}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`);
    assert.deepEqual([...r.statuses], [[200, 2000]]);
    assert.ok(r.max < ANSWER_MS, `slowest ${r.max} ms`);
    // Two services asked per discovery, at most one discovery per second (plus the one in flight).
    const discoveries = asked.length / 2;
    assert.ok(discoveries <= Math.ceil(r.elapsedMs / 1000) + 1, `${discoveries} discoveries in ${r.elapsedMs} ms`);
  });

  it('answers within 1 s while an instance hangs, and names the hung controller', async (t) => {
    // A responder that takes every STATS request and never answers, like a wedged instance...
    const silent = stack.nc.subscribe('$SRV.STATS.call-controller', { callback: () => undefined });
    await stack.nc.flush();
    try {
      // The real controller answering (not a fake responder of an earlier test, which a cached
      // result may still list for a moment).
      const realController = (i: HealthBody['instances'][number]) => i.service === 'call-controller' && i.answering && i.instance !== undefined;
      const hung = await waitForHealth(base, (r) => r.status === 200 && r.body.instances.some(realController), NOTICE_MS, '/health 200 beside a silent responder');
      assert.ok(hung.ms < ANSWER_MS, `${hung.ms} ms`);
      const real = hung.body.instances.find(realController);
      assert.ok(real?.instance);
      // ...and the real controller frozen (SIGSTOP): it holds its NATS connection but answers nothing.
      const controller = stack.controllers[0]!;
      controller.child.kill('SIGSTOP');
      try {
        const down = await waitForHealth(base, (r) => r.status === 503, NOTICE_MS, '/health 503 with the controller frozen');
        t.diagnostic(`503 after ${down.afterMs.toFixed(0)} ms; slowest answer ${down.slowestMs.toFixed(0)} ms`);
        assert.ok(down.slowestMs < ANSWER_MS, `slowest ${down.slowestMs} ms`);
        assert.equal(down.body.status, 'degraded');
        assert.ok(down.body.problems.some((p) => p.startsWith('no call-controller instance answers')), down.body.problems.join('|'));
        const frozen = down.body.instances.find((i) => i.id === real.id);
        assert.equal(frozen?.answering, false);
        assert.ok(down.body.problems.some((p) => p.includes(real.instance!)), 'names the instance');
      } finally {
        controller.child.kill('SIGCONT');
      }
      const back = await waitForHealth(base, (r) => r.status === 200, NOTICE_MS, '/health 200 after SIGCONT');
      assert.ok(back.slowestMs < ANSWER_MS);
    } finally {
      silent.unsubscribe();
    }
  });

  it('turns 503 naming the node within 5 s when Asterisk goes away, and 200 when it returns', async (t) => {
    const port = stack.sim.port;
    await stack.sim.stop();
    const down = await waitForHealth(base, (r) => r.status === 503, NOTICE_MS, '/health 503 without ARI');
    t.diagnostic(`503 after ${down.afterMs.toFixed(0)} ms: ${down.body.problems.join(' | ')}`);
    assert.equal(down.body.problems.length, 1, down.body.problems.join('|'));
    assert.match(down.body.problems[0]!, new RegExp(`^node ${NODE}: no ari-gateway connected to ARI \\(ari-gateway \\S+: ARI (disconnected|connecting) since `));
    assert.deepEqual(down.body.nodes, { [NODE]: { ariConnected: false } });
    sims.push(await AriSimulator.start({ port, username: ARI_USER, password: ARI_PASSWORD }));
    // The gateway's reconnect backoff has grown during the outage (up to a few seconds).
    await waitForHealth(base, (r) => r.status === 200, 15_000, '/health 200 with ARI back');
  });

  it('turns 503 naming the gateway within 5 s when it stops, and 200 when it returns', async (t) => {
    await stack.gateway.stop();
    const down = await waitForHealth(base, (r) => r.status === 503, NOTICE_MS, '/health 503 without a gateway');
    t.diagnostic(`503 after ${down.afterMs.toFixed(0)} ms: ${down.body.problems.join(' | ')}`);
    assert.equal(down.statusText, 'Service Unavailable');
    assert.equal(down.body.status, 'degraded');
    assert.ok(down.body.problems.includes('no ari-gateway instance answers'));
    assert.ok(down.body.problems.some((p) => p.startsWith(`node ${NODE}: no ari-gateway connected to ARI`) && p.includes('not answering')));
    await startGateway();
    const up = await waitForHealth(base, (r) => r.status === 200, NOTICE_MS, '/health 200 with the gateway back');
    assert.equal(up.body.instances.filter((i) => i.service === 'ari-gateway' && i.answering).length, 1);
  });

  it('turns 503 naming the controller within 5 s when it stops, and 200 when a new one starts', async () => {
    await stack.controllers[0]!.stop();
    const down = await waitForHealth(base, (r) => r.status === 503, NOTICE_MS, '/health 503 without a controller');
    assert.ok(down.body.problems.some((p) => p.startsWith('no call-controller instance answers (last seen:')), down.body.problems.join('|'));
    extra.push(await stack.startController());
    await waitForHealth(base, (r) => r.status === 200, NOTICE_MS, '/health 200 with a new controller');
  });

  it('is down within 5 s when NATS goes away, answering in time, and ok when it returns', async () => {
    await stack.nats.kill();
    const down = await waitForHealth(base, (r) => r.body.status === 'down', NOTICE_MS, '/health down');
    assert.equal(down.status, 503);
    assert.deepEqual(down.body.problems, ['NATS unreachable']);
    assert.ok(down.slowestMs < ANSWER_MS, `slowest ${down.slowestMs} ms`);
    await stack.nats.restart();
    await waitForHealth(base, (r) => r.status === 200, 15_000, '/health 200 after NATS returns');
  });
});
