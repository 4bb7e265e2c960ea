/**
 * 300 calls at 150/s with each media transport, back to back on the same machine so their setup
 * latencies compare: AudioSocket (the reference), chan_websocket server mode (media_ready ->
 * the echo server connects -> the channel enters Stasis) and client mode (Asterisk dials the echo
 * server). Each: every call bridged exactly once with one media channel, nothing left, no
 * crash-causing request. No media frames flow in these runs (AudioSocket echo only echoes,
 * websocket callers are silent): they measure call control, not audio; the audio is checked call
 * by call in websocket-server.test.ts and websocket-client.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AriSimulator, CallRecord } from '@avb/ari-simulator';
import { nothingLeft, startStack, type Stack } from './harness/stack.js';
import { percentile } from './harness/util.js';
import { startWebSocketStack, type WebSocketStack } from './harness/websocket-media.js';

const COUNT = 300;
const RATE = 150;
/** Long enough that a busy shared machine still bridges every call before its caller hangs up. */
const HOLD_MS = 8000;

const summary: string[] = [];
/** The services log at info here: debug lines (several per call), read by this process, would cost more than the calls. */
const QUIET = { gatewayEnv: { LOG_LEVEL: 'info' }, controllerEnv: { LOG_LEVEL: 'info' } };

async function run(sim: AriSimulator, label: string, t: { diagnostic(msg: string): void }): Promise<CallRecord[]> {
  // A fresh stack's first calls pay for JIT compilation and JetStream's first writes (3-5x the
  // latency): warmed up first, so the figures compare the transports, not the warm-up.
  await sim.runLoad({ count: 50, rate: 50, holdMs: 300, timeoutMs: 30_000 });
  await nothingLeft(sim, `warm-up (${label})`, 15_000);
  const records = await sim.runLoad({ count: COUNT, rate: RATE, holdMs: HOLD_MS, timeoutMs: 60_000 });
  await nothingLeft(sim, `${COUNT} calls (${label})`, 15_000);
  assert.equal(records.length, COUNT);
  for (const r of records) {
    assert.equal(r.bridgeIds.length, 1, `call ${r.channelId} bridged once`);
    assert.equal(r.mediaChannelIds.length, 1, `call ${r.channelId} has one media channel`);
    assert.ok(r.bridgedAt !== undefined);
  }
  assert.equal(sim.crashes, 0, JSON.stringify(sim.crashLog));
  const setup = records.map((r) => r.bridgedAt! - r.startedAt);
  const line = `${label}: setup latency p50=${percentile(setup, 50).toFixed(2)} ms p99=${percentile(setup, 99).toFixed(2)} ms`;
  summary.push(line);
  t.diagnostic(line);
  return records;
}

describe(`${COUNT} calls at ${RATE}/s per media transport`, () => {
  describe('AudioSocket (reference)', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ controllers: 1, echoFrameMs: 0, ...QUIET });
    });
    after(async () => stack?.stop());
    it('each bridged once, nothing left', (t) => run(stack.sim, 'AudioSocket', t).then(() => undefined));
  });

  for (const mode of ['server', 'client'] as const) {
    describe(`chan_websocket ${mode} mode`, () => {
      let ws: WebSocketStack;
      before(async () => {
        ws = await startWebSocketStack({ mode, simOptions: { websocketCallerAudio: 'silent' }, stack: { gatewayEnv: QUIET.gatewayEnv }, controllerEnv: QUIET.controllerEnv });
      });
      after(async () => ws?.stop());
      it('each connected and bridged once, nothing left', async (t) => {
        const records = await run(ws.stack.sim, `WebSocket ${mode} mode`, t);
        const media = records.map((r) => ws.stack.sim.websocketMedia.get(r.mediaChannelIds[0]!));
        assert.ok(media.every((m) => m?.connectedAt !== undefined && m.endedBy === 'app'), 'every media socket connected, and removed by the controller');
        if (mode === 'server') {
          const readyOf = (channelId: string) => ws.connector!.ready.filter((e) => e.channelId === channelId).length;
          assert.ok(records.every((r) => readyOf(r.channelId) === 1), 'one media_ready per call');
        }
        else assert.ok(records.every((r) => ws.echo.sessions.get(r.mediaChannelIds[0]!)?.role === 'accepted'), 'the echo server accepted every call');
      });
    });
  }

  it('compares the setup latencies', (t) => {
    for (const line of summary) t.diagnostic(line);
    assert.equal(summary.length, 3);
  });
});
