/**
 * No call lost, nothing leaked (issue 4): the durable event stream, the shared call state, the
 * standby gateway, reconciliation and session lookup, through real processes, a real
 * nats-server with JetStream and the ARI simulator. Each scenario reports what it placed, set up,
 * failed and left behind as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CallEvent, Reply, bridgeName, subjects, type SessionInfo } from '@avb/contracts';
import type { AriSimulator, CallRecord } from '@avb/ari-simulator';
import { callKeys } from './harness/calls.js';
import { collect, type Collector } from './harness/gateway-client.js';
import { logMsg } from './harness/services.js';
import { APP, ARI_PASSWORD, ARI_USER, NODE, nothingLeft, startStack, type Stack } from './harness/stack.js';
import { sleep, waitUntil } from './harness/util.js';

const FAST = {
  CONSUMER_ACK_WAIT_MS: '2000',
  RECONCILE_GRACE_MS: '300',
  LOG_LEVEL: 'info',
};


/** Places `count` calls at `rate`/s; placing fails while no gateway holds the ARI socket. */
async function placeCalls(sim: () => AriSimulator, count: number, rate: number, holdMs: number) {
  const placed: CallRecord[] = [];
  let refused = 0;
  for (let i = 0; i < count; i++) {
    try {
      const call = sim().placeCall();
      placed.push(call);
      setTimeout(() => sim().hangup(call.channelId), holdMs);
    } catch {
      refused += 1; // Asterisk: "Stasis app not active" (no WebSocket): the dialplan's fallback runs
    }
    await sleep(1000 / rate);
  }
  return { placed, refused };
}

function report(t: TestContext, what: string, placed: CallRecord[], extra: Record<string, number> = {}) {
  const setUp = placed.filter((c) => c.bridgedAt !== undefined).length;
  const cleaned = placed.filter((c) => c.bridgedAt === undefined && c.endedBy === 'ari').length;
  const hungUpFirst = placed.filter((c) => c.bridgedAt === undefined && c.endedBy === 'caller').length;
  const figures = { placed: placed.length, 'set up': setUp, 'failed and cleaned': cleaned, 'hung up before set up': hungUpFirst, ...extra };
  t.diagnostic(`${what}: ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

describe('the event stream', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 1, gatewayEnv: { EVENTS_MAX_AGE_S: '600', EVENTS_MAX_BYTES: String(64 * 1024 * 1024) } });
  });
  after(async () => stack?.stop());

  it('is created with the configured limits, stores a re-published event once, and core subscribers see every frame', async () => {
    const jsm = await stack.nc.jetstreamManager();
    const info = await jsm.streams.info('ARI_EVENTS');
    assert.deepEqual(info.config.subjects, ['ari.event.>']);
    assert.equal(info.config.max_age, 600 * 1e9);
    assert.equal(info.config.max_bytes, 64 * 1024 * 1024);
    const watcher = collect(stack.nc, subjects.ariEvent(APP, NODE, 'ChannelUserevent'));
    await stack.nc.flush();
    const stored = (await jsm.streams.info('ARI_EVENTS')).state.messages;
    const frame = JSON.stringify({ type: 'ChannelUserevent', eventname: 'dup-test', timestamp: new Date().toISOString(), application: APP });
    stack.sim.sendRaw(APP, frame);
    stack.sim.sendRaw(APP, frame); // the same bytes again: a replay
    await waitUntil(() => watcher.msgs.length === 2, 5000, 'both frames relayed to core subscribers');
    await waitUntil(async () => (await jsm.streams.info('ARI_EVENTS')).state.messages === stored + 1, 5000, 'stored once');
    watcher.stop();
  });

  it('is created again, with its consumers, when someone deletes it; calls work again', async () => {
    const jsm = await stack.nc.jetstreamManager();
    await jsm.streams.delete('ARI_EVENTS');
    // Calls keep coming: the stream no longer acknowledges their StasisStart, which tells the
    // gateway it is gone. This caller arrives while there is no stream: the gateway publishes
    // its StasisStart again until the stream (made again) stores it, so it is served (defect 9).
    const lost = stack.sim.placeCall();
    await waitUntil(async () => (await jsm.streams.info('ARI_EVENTS').then(() => true, () => false)), 10_000, 'stream recreated');
    await waitUntil(async () => (await jsm.consumers.info('ARI_EVENTS', 'call-controller_ai_app_StasisStart').then(() => true, () => false)), 10_000, 'consumers recreated');
    await sleep(2500); // the controllers resume pulling
    await stack.sim.waitFor(() => lost.bridgedAt !== undefined, 15_000, 'the caller who arrived while the stream was gone is served');
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 10_000, 'call bridged after the stream came back');
    stack.sim.hangup(call.channelId);
    stack.sim.hangup(lost.channelId);
    await nothingLeft(stack.sim, 'call after the stream came back');
  });
});

describe('shared consumption across controllers', () => {
  let stack: Stack;
  let callEvents: Collector;
  before(async () => {
    stack = await startStack({ controllers: 3, controllerEnv: FAST });
    callEvents = collect(stack.nc, subjects.callEvents(APP));
  });
  after(async () => {
    callEvents?.stop();
    await stack?.stop();
  });

  it('3 controllers share 300 calls: each bridged exactly once, state emptied', async (t) => {
    // Held long enough that a slow, shared CI machine still bridges every call before its hangup.
    const records = await stack.sim.runLoad({ count: 300, rate: 100, holdMs: 3000, timeoutMs: 60_000 });
    await nothingLeft(stack.sim, '300 shared calls', 20_000);
    for (const r of records) {
      assert.equal(r.bridgeIds.length, 1, `call ${r.channelId} bridged once`);
      assert.equal(r.mediaChannelIds.length, 1, `call ${r.channelId} one media channel`);
    }
    const started = stack.controllers.map((c) => c.lines.filter((l) => l.json?.msg === 'call started').length);
    assert.equal(started.reduce((a, b) => a + b, 0), 300, `started per instance: ${started.join(', ')}`);
    assert.ok(started.every((n) => n > 0), `every instance took calls: ${started.join(', ')}`);
    await waitUntil(async () => (await callKeys(stack.nc)).length === 0, 5000, 'call state emptied');
    // Deleted keys leave no marker behind: the bucket holds at most the node's reconcile entry.
    const bucket = await (await stack.nc.jetstreamManager()).streams.info('KV_avb_calls');
    assert.ok(bucket.state.messages <= 1, `messages left in the call-state bucket: ${bucket.state.messages}`);
    const ended = new Set(callEvents.json().map((e) => CallEvent.parse(e)).filter((e) => e.kind === 'ended').map((e) => e.channelId));
    assert.equal(ended.size, 300, 'one ended event per call');
    report(t, '3 controllers', records, { 'left behind': stack.sim.channels().length + stack.sim.bridges().length });
  });

  it('a controller stopped (SIGTERM) mid-load hands its new callers back: every call bridged once, exit 0', async (t) => {
    const load = stack.sim.runLoad({ count: 200, rate: 100, holdMs: 2000, timeoutMs: 60_000 });
    await sleep(700);
    assert.equal(await stack.controllers[2]!.stop('SIGTERM'), 0);
    const records = await load;
    await nothingLeft(stack.sim, 'calls after a controller stopped', 20_000);
    for (const r of records) assert.equal(r.bridgeIds.length, 1, `call ${r.channelId} bridged once`);
    report(t, 'SIGTERM mid-load', records);
  });

  it('a controller killed (SIGKILL) mid-load: every call comes up or is cleaned, nothing left', async (t) => {
    const load = stack.sim.runLoad({ count: 200, rate: 100, holdMs: 1500, timeoutMs: 60_000 });
    await sleep(800);
    await stack.controllers[0]!.stop('SIGKILL');
    const records = await load;
    await nothingLeft(stack.sim, 'calls after a controller was killed', 30_000);
    for (const r of records) assert.ok(r.bridgedAt !== undefined || r.endedBy !== undefined, `call ${r.channelId} came up or was ended`);
    assert.ok(records.every((r) => r.bridgeIds.length <= 1), 'no call bridged twice');
    await waitUntil(async () => (await callKeys(stack.nc)).length === 0, 10_000, 'call state emptied');
    report(t, 'SIGKILL mid-load', records);
  });

  it('all controllers down while callers hang up and new ones arrive: handled when one returns', async (t) => {
    const calls = Array.from({ length: 10 }, () => stack.sim.placeCall());
    await stack.sim.waitFor(() => calls.every((c) => c.bridgedAt !== undefined), 10_000, '10 calls bridged');
    await Promise.all(stack.controllers.map((c) => c.stop('SIGTERM')));
    for (const c of calls) stack.sim.hangup(c.channelId);
    const waiting = Array.from({ length: 5 }, () => stack.sim.placeCall());
    await sleep(5000);
    assert.ok(stack.sim.bridges().length >= 10, 'the bridges wait for a controller');
    await stack.startController();
    await stack.sim.waitFor(() => waiting.every((c) => c.bridgedAt !== undefined), 15_000, 'callers who arrived meanwhile are set up');
    for (const c of waiting) stack.sim.hangup(c.channelId);
    await nothingLeft(stack.sim, 'controllers down for 5 s', 15_000);
    report(t, 'controllers down 5 s', [...calls, ...waiting]);
  });
});

describe('gateway failover and restarts', () => {
  let stack: Stack;
  before(async () => {
    // A short lease for a quick takeover; the default (3 s) tolerates a busier machine.
    stack = await startStack({ controllers: 2, controllerEnv: { ...FAST, RECONCILE_INTERVAL_S: '2' }, gatewayEnv: { GATEWAY_LEASE_TTL_MS: '1500' } });
  });
  after(async () => stack?.stop());

  it('a standby gateway takes over within seconds of the active one dying; never two sockets; nothing left', async (t) => {
    const standby = await stack.startGateway();
    await standby.waitForLog(logMsg('ready'), 10_000, 'standby ready');
    let maxSockets = 0;
    const sampler = setInterval(() => (maxSockets = Math.max(maxSockets, stack.sim.connections(APP))), 5);
    try {
      const load = placeCalls(() => stack.sim, 150, 50, 1500);
      await sleep(1000);
      const killedAt = Date.now();
      await stack.gateway.stop('SIGKILL');
      await standby.waitForLog(logMsg('ARI connected'), 10_000, 'standby connected');
      const takeoverMs = Date.now() - killedAt;
      const { placed, refused } = await load;
      await nothingLeft(stack.sim, 'failover mid-load', 30_000);
      assert.ok(takeoverMs < 5000, `takeover in ${takeoverMs} ms`);
      assert.equal(maxSockets, 1, 'never two ARI sockets for the app');
      report(t, 'gateway failover', placed, { refused, takeoverMs });
    } finally {
      clearInterval(sampler);
    }
  });

  it('a gateway restart mid-load (SIGTERM, then start again) leaves nothing', async (t) => {
    const alive = (g: Stack['gateway']) => g.child.exitCode === null && g.child.signalCode === null;
    const active = stack.gateways.find((g) => alive(g) && g.lines.some((l) => l.json?.msg === 'ARI connected'))!;
    const load = placeCalls(() => stack.sim, 100, 50, 1000);
    await sleep(700);
    await active.stop('SIGTERM');
    await sleep(500);
    const fresh = await stack.startGateway();
    await waitUntil(() => stack.sim.connections(APP) === 1, 10_000, 'a gateway holds the socket again');
    const { placed, refused } = await load;
    await nothingLeft(stack.sim, 'gateway restart mid-load', 30_000);
    report(t, 'gateway restart', placed, { refused });
    assert.ok(alive(fresh));
  });
});

describe('reconciliation and session lookup', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 1, controllerEnv: { ...FAST, RECONCILE_INTERVAL_S: '1' } });
  });
  after(async () => stack?.stop());

  const ari = (sim: AriSimulator, method: string, path: string, query: Record<string, string>) =>
    fetch(`${sim.baseUrl}${path}?${new URLSearchParams(query)}`, {
      method,
      headers: { Authorization: `Basic ${Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64')}` },
    });

  it('answers call.session.<app>.<uuid> with the call, not_found after it, bad_request for junk', async () => {
    const call = stack.sim.placeCall({ callerNumber: '+4930999', callerName: 'Bob' });
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');
    const sessionId = call.mediaChannelIds[0]!;
    const lookup = async (id: string) =>
      Reply.parse(JSON.parse(new TextDecoder().decode((await stack.nc.request(subjects.callSession(APP, id), undefined, { timeout: 2000 })).data)));
    // The state turns `active` just after the bridge is complete.
    await waitUntil(async () => {
      const r = await lookup(sessionId);
      return r.ok && (r.result as SessionInfo).phase === 'active';
    }, 5000, 'session active');
    const reply = await lookup(sessionId);
    assert.ok(reply.ok, JSON.stringify(reply));
    const info = reply.result as SessionInfo;
    assert.equal(info.channelId, call.channelId);
    assert.equal(info.sessionId, sessionId);
    assert.equal(info.callerNumber, '+4930999');
    assert.equal(info.phase, 'active');
    assert.equal(info.node, NODE);
    stack.sim.hangup(call.channelId);
    await nothingLeft(stack.sim, 'the call');
    await waitUntil(async () => {
      const gone = await lookup(sessionId);
      return !gone.ok && gone.error.code === 'not_found';
    }, 5000, 'session not_found after the call');
    const junk = await lookup('not-a-uuid');
    assert.equal(junk.ok ? 'ok' : junk.error.code, 'bad_request');
  });

  it('removes an orphan bridge and media channel of this app, and leaves other bridges alone', async () => {
    const orphanSession = randomUUID();
    const foreignId = randomUUID();
    assert.equal((await ari(stack.sim, 'POST', `/bridges/${randomUUID()}`, { type: 'mixing', name: bridgeName(APP, orphanSession) })).status, 200);
    assert.equal((await ari(stack.sim, 'POST', `/bridges/${foreignId}`, { type: 'mixing', name: 'someone-else' })).status, 200);
    const media = await ari(stack.sim, 'POST', '/channels/externalMedia', {
      app: APP, channelId: orphanSession, data: orphanSession, external_host: `127.0.0.1:${stack.echo.port}`,
      encapsulation: 'audiosocket', transport: 'tcp', format: 'slin16',
    });
    assert.equal(media.status, 200);
    await stack.sim.waitFor(() => stack.sim.bridges().length === 1 && stack.sim.channels().length === 0, 10_000, 'orphans removed');
    assert.equal(stack.sim.bridges()[0]!.id, foreignId);
    await ari(stack.sim, 'DELETE', `/bridges/${foreignId}`, {});
  });

  it('an Asterisk restart clears the state of that node', async (t) => {
    const calls = Array.from({ length: 10 }, () => stack.sim.placeCall());
    await stack.sim.waitFor(() => calls.every((c) => c.bridgedAt !== undefined), 10_000, '10 calls bridged');
    const keys = await callKeys(stack.nc);
    assert.equal(keys.length, 10, `keys: ${keys.join(' ')}; calls: ${calls.map((c) => c.channelId).join(' ')}`);
    // Every controller reports the cluster-wide count in its $SRV.STATS (recounted every 5 s).
    const activeCalls = async () => {
      const reply = await stack.nc.request('$SRV.STATS.call-controller', undefined, { timeout: 2000 });
      const stats = JSON.parse(new TextDecoder().decode(reply.data)) as { endpoints: Array<{ data: { activeCalls?: number } }> };
      return stats.endpoints[0]?.data.activeCalls;
    };
    await waitUntil(async () => (await activeCalls()) === 10, 8000, 'activeCalls 10');
    const ended = collect(stack.nc, subjects.callEvents(APP));
    const sim = await stack.restartSim();
    await waitUntil(() => sim.connections(APP) === 1, 10_000, 'gateway reconnected to the new Asterisk');
    await waitUntil(async () => (await callKeys(stack.nc)).length === 0, 10_000, 'call state of the node cleared');
    await waitUntil(() => ended.json().map((e) => CallEvent.parse(e)).filter((e) => e.kind === 'ended' && e.cause === 'caller_gone').length === 10, 5000, '10 ended events');
    ended.stop();
    assert.equal(sim.channels().length + sim.bridges().length, 0);
    t.diagnostic(`asterisk restart: 10 calls cleared from the state`);
  });
});
