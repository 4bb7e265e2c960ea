/**
 * Controller failover and load sharing (issue 10), with the controllers' default consumer
 * settings: a SIGKILLed controller's callers are taken over by the others within 2 s and
 * nothing is left once they hang up; two controllers at a low call rate share the calls evenly.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { CallRecord } from '@avb/ari-simulator';
import { logMsg, type ServiceProcess } from './harness/services.js';
import { nothingLeft, startStack, type Stack } from './harness/stack.js';
import { percentile, sleep, waitUntil } from './harness/util.js';

const QUIET = { LOG_LEVEL: 'info' };
const started = (c: ServiceProcess) => c.lines.filter(logMsg('call started')).length;

describe('a controller killed under load', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 3, controllerEnv: QUIET, gatewayEnv: { LOG_LEVEL: 'info' } });
  });
  after(async () => stack?.stop());

  it('its callers are bridged by the others within 2 s of the kill; nothing left after the hangups', async (t) => {
    // A cold stack is several times slower in its first second: warmed up first.
    await stack.sim.runLoad({ count: 60, rate: 100, holdMs: 200, timeoutMs: 10_000 });
    await nothingLeft(stack.sim, 'the warm-up');
    const count = 300;
    const holdMs = 4000;
    const load = stack.sim.runLoad({ count, rate: 150, holdMs, timeoutMs: 30_000 });
    await sleep(1000);
    // The busiest one: it holds the most callers in setup.
    const victim = stack.controllers.reduce((a, b) => (started(b) > started(a) ? b : a));
    const killedAt = performance.now();
    await victim.stop('SIGKILL');
    const records = await load;
    const lastHangup = Math.max(...records.map((r) => r.endedAt ?? 0));

    // How long each caller waited for its bridge counting from the kill (or from its StasisStart
    // when that came later); callers bridged before the kill waited for nothing.
    const waitOf = (r: CallRecord) => r.bridgedAt! - Math.max(killedAt, r.stasisStarts[0] ?? r.startedAt);
    const bridged = records.filter((r) => r.bridgedAt !== undefined);
    const waits = bridged.filter((r) => r.bridgedAt! > killedAt).map(waitOf);
    // Context for the figures: how fast calls were set up before the kill on this machine.
    const before = bridged.filter((r) => r.bridgedAt! <= killedAt).map((r) => r.bridgedAt! - (r.stasisStarts[0] ?? r.startedAt));
    const victimId = (await victim.waitForLog(logMsg('ready'))).json?.instance;
    const takeoverLines = stack.controllers.flatMap((c) => c.lines.filter(logMsg('taking over a call left in setup')));
    const takeovers = takeoverLines.filter((l) => l.json?.previousOwner === victimId).length;
    // A live instance's call taken over: its heartbeats came too late (a stalled event loop).
    const ofLive = takeoverLines.length - takeovers;
    // From 2 s after the last hangup (teardowns done) to 6 s: nothing, and nothing made again
    // (a stranded StasisStart redelivered after its caller left used to set a call up again).
    let left = 0;
    await sleep(Math.max(0, lastHangup + 2000 - performance.now()));
    while (performance.now() < lastHangup + 6000) {
      left = Math.max(left, stack.sim.channels().length + stack.sim.bridges().length);
      await sleep(100);
    }
    t.diagnostic(`SIGKILL at 150 calls/s: placed ${records.length}, bridged ${bridged.length}, not bridged ${records.length - bridged.length}, `
      + `taken over ${takeovers} (from live instances ${ofLive}), waited over 2 s ${waits.filter((w) => w > 2000).length}, wait after the kill p99 ${Math.round(percentile(waits, 99))} ms max ${Math.round(Math.max(...waits))} ms, `
      + `left 2-6 s after the last hangup ${left}; setup before the kill p50 ${Math.round(percentile(before, 50))} ms`);
    assert.equal(bridged.length, count, 'every caller bridged');
    assert.ok(Math.max(...waits) <= 2000, `every caller bridged within 2 s of the kill (max ${Math.round(Math.max(...waits))} ms)`);
    assert.equal(left, 0, 'channels and bridges in the simulator 2-6 s after the last hangup');
  });
});

describe('two controllers at a low call rate', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 2, controllerEnv: QUIET, gatewayEnv: { LOG_LEVEL: 'info' } });
  });
  after(async () => stack?.stop());

  it('each sets up between a third and two thirds of the calls', async (t) => {
    const records = await stack.sim.runLoad({ count: 50, rate: 2, holdMs: 1000, timeoutMs: 40_000 });
    await waitUntil(() => stack.controllers.reduce((n, c) => n + started(c), 0) === records.length, 5000, 'every call started');
    const counts = stack.controllers.map(started);
    t.diagnostic(`2 calls/s over 2 controllers: ${counts.join(' / ')} of ${records.length}`);
    for (const n of counts) assert.ok(n >= records.length / 3 && n <= (2 * records.length) / 3, `set up per controller: ${counts.join(', ')}`);
  });
});
