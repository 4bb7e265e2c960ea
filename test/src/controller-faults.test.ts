/**
 * Faults on the controller's side of the bus (issue 5): ARI slower than the timeout (late
 * creations), the media server down (hang up or continue in the dialplan), and no gateway at
 * all (no responders). The goal after each: nothing left in Asterisk, a clean call state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { subjects } from '@avb/contracts';
import { callEventsOf, callKeys } from './harness/calls.js';
import { collect, type Collector } from './harness/gateway-client.js';
import { APP, NODE, nothingLeft, startStack, type Stack } from './harness/stack.js';
import { sleep, waitUntil } from './harness/util.js';

const eventsOf = callEventsOf;

describe('ARI slower than ARI_HTTP_TIMEOUT', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 1, controllerEnv: { RECONCILE_INTERVAL_S: '1', RECONCILE_GRACE_MS: '300', LOG_LEVEL: 'info' } });
  });
  after(async () => stack?.stop());

  it('a stall shorter than the retries: the steps that timed out are sent again (externalMedia looked up first), every call comes up', async (t) => {
    stack.sim.setLatency(2600); // the stack's ARI_HTTP_TIMEOUT is 2 s
    const calls = Array.from({ length: 5 }, () => stack.sim.placeCall());
    await sleep(3500);
    stack.sim.setLatency(0);
    await stack.sim.waitFor(() => calls.every((c) => c.bridgedAt !== undefined), 15_000, 'every call bridged once ARI answers again');
    const media = stack.sim.requests.filter((r) => r.method === 'POST' && r.path === '/ari/channels/externalMedia');
    assert.equal(media.length, 5, 'one externalMedia per call: the late ones were found, not sent again');
    for (const c of calls) stack.sim.hangup(c.channelId);
    await nothingLeft(stack.sim, 'calls after a short ARI stall', 10_000);
    t.diagnostic(`short ARI stall: 5 calls bridged, ${media.length} externalMedia`);
  });

  it('setup times out, what ARI creates after the client gave up is removed, nothing left once ARI recovers', async (t) => {
    stack.sim.requests.length = 0;
    // Past every retry of the setup steps (three, 100/500/2000 ms apart, each timing out).
    stack.sim.setLatency(2600);
    const calls = Array.from({ length: 5 }, () => stack.sim.placeCall());
    await sleep(12_000);
    stack.sim.setLatency(0);
    await nothingLeft(stack.sim, 'setups that timed out', 20_000);
    const created = stack.sim.requests.filter((r) => r.method === 'POST' && r.status === 200 && /^\/ari\/(bridges\/|channels\/externalMedia)/.test(r.path)).length;
    assert.ok(created > 0, 'ARI created resources after the client had given up');
    assert.ok(calls.every((c) => c.endedBy === 'ari'), 'callers hung up by the backend');
    await waitUntil(async () => (await callKeys(stack.nc)).length === 0, 10_000, 'call state emptied');
    t.diagnostic(`slow ARI: 5 calls, ${created} resources created late, left behind 0`);
  });
});

describe('media server down', () => {
  let stack: Stack;
  let events: Collector;
  before(async () => {
    // Nothing listens on port 9: externalMedia fails like Asterisk's (500 after connect fails).
    stack = await startStack({ controllers: 1, controllerEnv: { AUDIOSOCKET_PORT: '9', EXTERNAL_MEDIA_FAILURE_ACTION: 'continue' } });
    events = collect(stack.nc, subjects.callEvents(APP));
  });
  after(async () => {
    events?.stop();
    await stack?.stop();
  });

  it('EXTERNAL_MEDIA_FAILURE_ACTION=continue sends the caller on in the dialplan instead of hanging up', async () => {
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.endedAt !== undefined, 10_000, 'caller left Stasis');
    assert.equal(call.endedBy, 'continue');
    await nothingLeft(stack.sim, 'a continued call', 5000);
    await waitUntil(() => eventsOf(events, call.channelId).some((e) => e.kind === 'failed'), 5000, 'failed event');
    assert.equal(eventsOf(events, call.channelId)[0]!.cause, 'setup_failed:media:ari_error');
    assert.ok(stack.sim.requests.some((r) => r.path === `/ari/channels/${call.channelId}/continue`));
  });
});

describe('no gateway (no responders)', () => {
  let stack: Stack;
  let events: Collector;
  before(async () => {
    stack = await startStack({ controllers: 1, controllerEnv: { GATEWAY_WAIT_MS: '1500', LOG_LEVEL: 'info' } });
    events = collect(stack.nc, subjects.callEvents(APP));
  });
  after(async () => {
    events?.stop();
    await stack?.stop();
  });

  it('retries a setup step for GATEWAY_WAIT_MS, then fails the call cleanly; works again once a gateway returns', async () => {
    // A real StasisStart frame, replayed into the event stream while no gateway runs.
    const first = stack.sim.placeCall();
    await stack.sim.waitFor(() => first.bridgedAt !== undefined, 5000, 'first call bridged');
    stack.sim.hangup(first.channelId);
    await nothingLeft(stack.sim, 'first call');
    const frame = stack.sim.sentFrames.find((f) => f.data.includes('"StasisStart"') && f.data.includes(first.channelId))!.data;
    await stack.gateway.stop('SIGKILL');

    const ghost = 'ghost-1795000000.1';
    const publishedAt = Date.now();
    await stack.nc.jetstream().publish(subjects.ariEvent(APP, NODE, 'StasisStart'), new TextEncoder().encode(frame.replaceAll(first.channelId, ghost)));
    await waitUntil(() => eventsOf(events, ghost).some((e) => e.kind === 'failed'), 20_000, 'failed event');
    const failed = eventsOf(events, ghost).find((e) => e.kind === 'failed')!;
    assert.match(failed.cause ?? '', /^setup_failed:\w+:ari_unavailable$/);
    assert.ok(Date.parse(failed.at) - publishedAt >= 1400, `retried for GATEWAY_WAIT_MS first (failed after ${Date.parse(failed.at) - publishedAt} ms: ${failed.cause})`);
    await waitUntil(async () => (await callKeys(stack.nc)).length === 0, 5000, 'call state emptied');

    await stack.startGateway();
    await waitUntil(() => stack.sim.connections(APP) === 1, 10_000, 'gateway back');
    const next = stack.sim.placeCall();
    await stack.sim.waitFor(() => next.bridgedAt !== undefined, 5000, 'call bridged after the gateway returned');
    stack.sim.hangup(next.channelId);
    await nothingLeft(stack.sim, 'call after the gateway returned');
  });
});

describe('NATS restart', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 2, controllerEnv: { LOG_LEVEL: 'info', RECONCILE_GRACE_MS: '300', RECONCILE_INTERVAL_S: '2' } });
    events = collect(stack.nc, subjects.callEvents(APP));
  });
  let events: Collector;
  after(async () => {
    events?.stop();
    await stack?.stop();
  });

  it('every service reconnects, calls established before are still torn down, new calls work', async () => {
    const before = Array.from({ length: 5 }, () => stack.sim.placeCall());
    // Established: bridged in Asterisk and recorded as started by a controller.
    await waitUntil(() => before.every((c) => eventsOf(events, c.channelId).some((e) => e.kind === 'started')), 10_000, 'calls started');
    // While NATS is away the gateway's renewals get no answer: it keeps the ARI socket within its
    // lease grace (GATEWAY_LEASE_GRACE_MS), or gives it up after; either way the calls end.
    await stack.nats.kill();
    await sleep(1500);
    await stack.nats.restart();
    // The durable consumers resume where they were; the calls' end events go through them.
    await sleep(1500);
    for (const c of before) stack.sim.hangup(c.channelId);
    await nothingLeft(stack.sim, 'calls across a NATS restart', 20_000);
    await waitUntil(() => stack.sim.connections(APP) === 1, 10_000, 'a gateway holds the ARI socket again');
    const after = Array.from({ length: 5 }, () => stack.sim.placeCall());
    await stack.sim.waitFor(() => after.every((c) => c.bridgedAt !== undefined), 10_000, 'calls bridged after the restart');
    for (const c of after) stack.sim.hangup(c.channelId);
    await nothingLeft(stack.sim, 'calls after a NATS restart', 10_000);
    for (const p of [...stack.gateways, ...stack.controllers]) assert.equal(p.child.exitCode, null, `${p.name} still running`);
  });
});
