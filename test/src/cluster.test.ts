/**
 * No single point of failure on a NATS cluster (issue 10): the stack (an active and a standby
 * gateway, two controllers, the simulator) on three clustered nats-servers with
 * JETSTREAM_REPLICAS=3, calls flowing at a steady rate the whole time, while the server leading
 * the event stream, then the calls bucket, then the lease bucket is SIGKILLed and restarted, all
 * three are restarted in turn, and the whole cluster is restarted. And one nats-server restarted
 * with empty storage: everything is made again and calls come up within seconds.
 * Each test reports placed, set up, refused, unserved, left behind and the longest setup gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { jetStreamNames } from '@avb/contracts';
import { CONSUMED_EVENT_TYPES, ensureCallConsumers } from '@avb/runtime';
import { connect } from 'nats';
import { logMsg } from './harness/services.js';
import { startNatsCluster, type NatsCluster } from './harness/nats-cluster.js';
import { APP, startStack, type Stack } from './harness/stack.js';
import { describeFigures, startSteadyCalls, type CallFigures, type SteadyCalls } from './harness/steady-calls.js';
import { sleep, waitUntil } from './harness/util.js';

const RATE = 20;
const HOLD_MS = 1000;
/** A caller not set up within this long counts as unserved (a leader election takes 5-8 s). */
const GIVE_UP_MS = 15_000;
/** How long a killed server stays down (the issue suggests ~10 s; shortened to fit the suite's budget). */
const DOWN_MS = 4000;
/** Between two servers of a rolling restart, after the cluster is healthy again. */
const SETTLE_MS = 3000;
const STREAM = 'ARI_EVENTS';
const CALLS = jetStreamNames.kvStream('avb_calls');
const LEASES = jetStreamNames.kvStream('avb_gateway_leases');
const ASSETS = [STREAM, CALLS, LEASES];

/**
 * ARI's timeout at its default (the stack's is 2 s): the callers who arrived during a leader
 * election are all set up at once when it ends, and on this shared 2-core machine Asterisk's
 * (the simulator's) answers to that burst can take longer than 2 s.
 */
const SERVICE_ENV = { JETSTREAM_REPLICAS: '3', LOG_LEVEL: 'info', ARI_HTTP_TIMEOUT: '10' };

function report(t: TestContext, what: string, figures: CallFigures, calls?: SteadyCalls, stack?: Stack): void {
  const line = describeFigures(what, figures);
  t.diagnostic(line);
  console.log(line);
  // The services' warnings meanwhile, counted by message: what the failure cost them.
  if (stack && calls) {
    const counts = new Map<string, number>();
    for (const l of stack.allLogLines()) {
      const j = JSON.parse(l) as { level?: number; msg?: string; time?: number | string; reason?: string; feature?: string; error?: { code?: string } };
      if ((j.level ?? 0) < 40 || Date.parse(String(j.time)) < calls.startedAt) continue;
      const key = `${j.feature ?? ''} ${j.msg ?? ''}${j.reason ? ` (${j.reason})` : ''}${j.error?.code ? ` (${j.error.code})` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${n}x ${k}`);
  }
  // What the services said about the first few troubled callers: where their setup stopped.
  for (const call of calls?.troubled().slice(0, 3) ?? []) {
    const said = stack!.allLogLines().filter((l) => l.includes(call.channelId)).map((l) => {
      const j = JSON.parse(l) as { msg?: string; cause?: string; err?: { message?: string } };
      return [j.msg, j.cause, j.err?.message].filter(Boolean).join(' / ');
    });
    console.log(`  ${call.channelId} (${call.endedBy ?? 'never set up'}): ${said.slice(-6).join(' | ') || 'no log line names it'}`);
  }
}

/** Calls at RATE until the test stops them, or until it ends in any case (a failed step midway). */
function steadyCalls(t: TestContext, stack: Stack): SteadyCalls {
  const calls = startSteadyCalls(stack.sim, { rate: RATE, holdMs: HOLD_MS, giveUpMs: GIVE_UP_MS });
  t.after(() => calls.halt());
  return calls;
}

function assertNoCallCost(figures: CallFigures): void {
  assert.equal(figures.refused, 0, 'no call refused');
  assert.equal(figures.unserved, 0, 'no caller left unserved');
  // Not asserted: `failed` (a call whose ARI command was in flight through the killed server
  // times out and is cleaned up; 0-1 per kill here), reported with the others.
  assert.equal(figures.left, 0, 'nothing left in the simulator');
  assert.ok(figures['set up'] > 0);
}

describe('on a 3-server NATS cluster, calls flowing', () => {
  let cluster: NatsCluster;
  let stack: Stack;
  const healthy = () => Promise.all([
    ...ASSETS.map((a) => cluster.streamHealthy(a, 30_000)),
    // 60 s for a consumer: once in 13 runs of this file a consumer's replica on the server just
    // restarted stayed offline for over 30 s (nats-server 2.9.10) while its leader served on.
    ...CONSUMED_EVENT_TYPES.map((type) => cluster.streamHealthy(STREAM, 60_000, jetStreamNames.callConsumer(APP, type))),
  ]);

  before(async () => {
    cluster = await startNatsCluster();
    await cluster.ready();
    // Made at 1 replica before the services start (as a stack set up before JETSTREAM_REPLICAS
    // existed left them): the services must raise each to 3 and say so.
    const nc = await connect({ servers: cluster.url.split(',') });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: ['ari.event.>'], num_replicas: 1 });
    await ensureCallConsumers(jsm, { stream: STREAM, app: APP, ackWaitMs: 10_000, replicas: 1, update: false });
    await nc.jetstream().views.kv('avb_calls', { history: 1, ttl: 6 * 3600 * 1000, replicas: 1 });
    await nc.jetstream().views.kv('avb_gateway_leases', { history: 1, ttl: 3000, replicas: 1 });
    await nc.close();
    stack = await startStack({
      cluster,
      controllers: 2,
      gatewayEnv: SERVICE_ENV,
      controllerEnv: { ...SERVICE_ENV, RECONCILE_GRACE_MS: '2000', RECONCILE_INTERVAL_S: '5' },
    });
    const standby = await stack.startGateway();
    await standby.waitForLog(logMsg('ready'), 10_000, 'standby ready');
    await healthy();
  });
  after(async () => {
    await stack?.stop();
    await cluster?.stop();
  });

  it('assets found with 1 replica are raised to 3, and the log says so', async (t) => {
    const jsm = await stack.nc.jetstreamManager();
    for (const name of ASSETS) assert.equal((await jsm.streams.info(name)).config.num_replicas, 3, name);
    for await (const c of jsm.consumers.list(STREAM)) assert.equal(c.config.num_replicas, 3, c.name);
    const changes = stack.allLogLines().filter((l) => l.includes('num_replicas 1 -> 3')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    for (const asset of [`stream ${STREAM}`, 'bucket avb_calls', 'bucket avb_gateway_leases', `consumers of ${STREAM}`]) {
      assert.ok(changes.some((m) => m.startsWith(`JetStream ${asset}: updated`)), `${asset} updated, logged: ${changes.join(' | ')}`);
    }
    t.diagnostic(changes.join(' | '));
  });

  for (const [what, stream] of [['the event stream', STREAM], ['the calls bucket', CALLS], ['the lease bucket', LEASES]] as const) {
    it(`SIGKILL of the server leading ${what}, restarted ${DOWN_MS / 1000} s later: no call refused, none unserved, nothing left`, async (t) => {
      const calls = steadyCalls(t, stack);
      await sleep(1000);
      const leader = await cluster.leaderOf(stream);
      assert.ok(leader, `${stream} has a leader`);
      await cluster.node(leader).server.kill();
      await sleep(DOWN_MS);
      await cluster.node(leader).server.restart();
      await healthy();
      await sleep(2000);
      const figures = await calls.stop();
      report(t, `leader of ${stream} (${leader}) killed`, figures, calls, stack);
      assertNoCallCost(figures);
    });
  }

  // As an operator restarts servers (docker compose restart with `stop_signal: SIGUSR2`): each
  // leaves in lame duck mode, which hands its leaderships over first. SIGKILLing them in turn
  // instead costs three elections of 4-9 s each (nats-server 2.9's election timeout), measured
  // above one at a time.
  it('a rolling restart of all three servers: no call refused, none unserved, nothing left', async (t) => {
    const calls = steadyCalls(t, stack);
    await sleep(1000);
    const assets = [...ASSETS, ...CONSUMED_EVENT_TYPES.map((type) => `${STREAM}/${jetStreamNames.callConsumer(APP, type)}`)];
    // The next server only once every asset is led and current again.
    const kept: string[] = [];
    for (const node of cluster.nodes) {
      kept.push(...(await cluster.leave(node.name, assets)).map((a) => `${a} (${node.name})`));
      await sleep(1000);
      await node.server.restart();
      await healthy();
      await sleep(SETTLE_MS);
    }
    await sleep(2000);
    // Three restarts in a row: reconciliation (every 5 s here) may have to remove what they left.
    const figures = await calls.stop(30_000);
    report(t, `rolling restart (still led when stopped: ${kept.join(', ') || 'none'})`, figures, calls, stack);
    assertNoCallCost(figures);
  });

  it('the whole cluster restarted: calls come up again, nothing left', async (t) => {
    const calls = steadyCalls(t, stack);
    await sleep(1000);
    await Promise.all(cluster.nodes.map((n) => n.server.kill()));
    await sleep(2000);
    await Promise.all(cluster.nodes.map((n) => n.server.restart()));
    const backAt = performance.now();
    await cluster.ready(30_000);
    await healthy();
    const firstAfter = () => [...stack.sim.calls.values()].find((c) => c.bridgedAt !== undefined && c.bridgedAt > backAt);
    await waitUntil(() => firstAfter() !== undefined, 30_000, 'a call set up after the cluster came back');
    const upAfterMs = Math.round(firstAfter()!.bridgedAt! - backAt);
    await sleep(2000);
    // Calls whose hangups came while nothing was stored are removed by reconciliation (every 5 s here).
    const figures = await calls.stop(30_000);
    report(t, `whole cluster restarted (first call set up ${upAfterMs} ms after the servers were started again)`, figures);
    assert.equal(figures.left, 0, 'nothing left in the simulator');
  });
});

describe('one nats-server restarted with empty storage', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 2, controllerEnv: { LOG_LEVEL: 'info' }, gatewayEnv: { LOG_LEVEL: 'info' } });
  });
  after(async () => stack?.stop());

  it('the stream, its consumers and both buckets are made again: calls set up within 5 s', async (t) => {
    const calls = steadyCalls(t, stack);
    await sleep(1000);
    await stack.nats.kill();
    await stack.nats.wipeStore();
    await stack.nats.restart();
    const backAt = performance.now();
    const firstAfter = () => [...stack.sim.calls.values()].find((c) => c.stasisStarts[0]! > backAt && c.bridgedAt !== undefined);
    await waitUntil(() => firstAfter() !== undefined, 30_000, 'a call placed after the restart set up');
    const upAfterMs = Math.round(firstAfter()!.bridgedAt! - backAt);
    await sleep(2000);
    const figures = await calls.stop();
    report(t, `empty storage (first new call set up ${upAfterMs} ms after the restart)`, figures);
    assert.ok(upAfterMs < 5000, `calls set up ${upAfterMs} ms after NATS came back empty`);
    const jsm = await stack.nc.jetstreamManager();
    for (const name of ASSETS) await jsm.streams.info(name);
    assert.equal(figures.left, 0, 'nothing left in the simulator');
  });
});
