/**
 * Rules of a call that only show in rarer orders of events (issue 15), through real processes:
 * a caller that leaves Stasis and enters it again gets a new call, whatever the timing; a setup
 * that fails is reported `failed`, never `ended`, however the instances share the events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CallEvent, subjects } from '@avb/contracts';
import type { CallRecord } from '@avb/ari-simulator';
import { collect, type Collector } from './harness/gateway-client.js';
import { APP, ARI_PASSWORD, ARI_USER, nothingLeft, startStack, type Stack } from './harness/stack.js';
import { sleep, waitUntil } from './harness/util.js';

const FAST = { CONSUMER_ACK_WAIT_MS: '2000', RECONCILE_GRACE_MS: '300', LOG_LEVEL: process.env.AVB_RULES_LOG_LEVEL ?? 'info' };

describe('rules of a call', () => {
  let stack: Stack;
  let events: Collector;
  before(async () => {
    stack = await startStack({ controllers: 2, controllerEnv: FAST });
    events = collect(stack.nc, subjects.callEvents(APP));
    await stack.nc.flush();
  });
  after(async () => {
    events?.stop();
    await stack?.stop();
  });

  const eventsOf = (channelId: string) => events.json().map((e) => CallEvent.parse(e)).filter((e) => e.channelId === channelId);
  const continueCaller = async (channelId: string) => {
    const res = await fetch(`${stack.sim.baseUrl}/channels/${channelId}/continue`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(res.status, 204);
  };
  /** The caller shares a bridge with a media channel right now. */
  const bridgedNow = (call: CallRecord) =>
    stack.sim.bridges().some((b) => b.channels.includes(call.channelId) && b.channels.length === 2);

  async function reentry(t: TestContext, what: string, continueAfter: (call: CallRecord) => Promise<void>) {
    const calls = Array.from({ length: 10 }, () => stack.sim.placeCall({ laterStasis: [[]] }));
    await Promise.all(calls.map(async (call) => {
      await continueAfter(call);
      await continueCaller(call.channelId);
    }));
    // A caller continued during setup may never have been bridged the first time.
    const bridgedAgain = (c: CallRecord) => c.stasisStarts.length === 2 && bridgedNow(c)
      && stack.sim.requests.some((r) => r.path.endsWith('/addChannel') && (r.query.channel ?? '').startsWith(c.channelId) && r.receivedAt > c.stasisStarts[1]!);
    await stack.sim.waitFor(() => calls.every(bridgedAgain), 15_000, 'every caller bridged again').catch((err: unknown) => {
      const state = calls.map((c) => `${c.channelId}: starts ${c.stasisStarts.length} bridges ${c.bridgeIds.length} media ${c.mediaChannelIds.length} now ${bridgedNow(c)} events ${eventsOf(c.channelId).map((e) => `${e.kind}:${e.cause ?? ''}`).join(',')}`);
      throw new Error(`${(err as Error).message}\n${state.join('\n')}`);
    });
    const second = calls.filter((c) => bridgedAgain(c) && new Set(c.mediaChannelIds).size === c.mediaChannelIds.length).length;
    t.diagnostic(`${what}: ${second} of ${calls.length} callers got a second call (new bridge, new media channel)`);
    // The first call's bridge and media channel are gone; each caller has exactly one of each.
    await stack.sim.waitFor(() => stack.sim.bridges().length === calls.length && stack.sim.channels().length === 2 * calls.length, 10_000, 'first calls removed');
    for (const c of calls) {
      // The call of now: its media channel is the session; every earlier session has ended.
      const media = stack.sim.bridges().find((br) => br.channels.includes(c.channelId))!.channels.find((id) => id !== c.channelId)!;
      await waitUntil(() => eventsOf(c.channelId).some((e) => e.kind === 'started' && e.sessionId === media), 5000, `started event of the second call of ${c.channelId}`);
      const earlier = new Set(eventsOf(c.channelId).map((e) => e.sessionId).filter((id) => id !== media));
      assert.ok(earlier.size >= 1, `a new session for ${c.channelId}`);
      for (const session of earlier) {
        const ends = eventsOf(c.channelId).filter((e) => e.sessionId === session && e.kind !== 'started');
        assert.equal(ends.length, 1, `the first call of ${c.channelId} ended once: ${JSON.stringify(eventsOf(c.channelId))}`);
      }
    }
    for (const c of calls) stack.sim.hangup(c.channelId);
    await nothingLeft(stack.sim, what);
    for (const c of calls) {
      await waitUntil(() => eventsOf(c.channelId).some((e) => e.kind !== 'started' && e.cause === 'caller_hangup' && c.mediaChannelIds.at(-1) === e.sessionId), 5000, `the second call of ${c.channelId} ended`);
    }
  }

  it('a caller continued out of a bridged call into Stasis again gets a new call (defect 3)', async (t) => {
    await reentry(t, 'continue once bridged', (call) => stack.sim.waitFor(() => call.bridgedAt !== undefined, 10_000, 'bridged'));
  });

  it('... and so does one continued while its first call is still being set up', async (t) => {
    await reentry(t, 'continue during setup', async (call) => {
      await stack.sim.waitFor(() => call.answeredAt !== undefined, 10_000, 'answered');
      await sleep(call.channelId.length % 3);
    });
  });

  it('a setup that fails is reported failed, never ended, whichever instance sees the hangup (defect 10)', async (t) => {
    const count = 20;
    stack.sim.failNext({ method: 'POST', path: /\/addChannel$/ }, { status: 500, body: { message: 'Internal Server Error' } }, count);
    const calls = Array.from({ length: count }, () => stack.sim.placeCall());
    await stack.sim.waitFor(() => calls.every((c) => c.endedAt !== undefined), 15_000, 'every failed caller hung up');
    await nothingLeft(stack.sim, 'failed setups');
    await waitUntil(() => calls.every((c) => eventsOf(c.channelId).some((e) => e.kind !== 'started')), 5000, 'every call reported');
    const kinds = calls.map((c) => eventsOf(c.channelId).filter((e) => e.kind !== 'started').map((e) => `${e.kind}:${e.cause}`).join(','));
    t.diagnostic(`failed setups reported: ${kinds.filter((k) => k.startsWith('failed')).length} failed, ${kinds.filter((k) => k.startsWith('ended')).length} ended`);
    for (const k of kinds) assert.equal(k, 'failed:setup_failed:add_channels:ari_error');
  });
});
