/**
 * One load run on the simulator (our app or the direct reference's), judged the way the issue
 * defines success: every call bridged exactly once before its caller hung up, and no channel and
 * no bridge left in the simulator once every call has ended.
 */
import type { AriSimulator, CallRecord } from '@avb/ari-simulator';

export interface RunResult {
  records: CallRecord[];
  /** Calls not bridged exactly once with exactly one media channel. */
  failures: number;
  /** Channels and bridges still in the simulator after the settle time. */
  leftovers: number;
  /** bridgedAt - startedAt, ms, as timed by the simulator, of the bridged calls. */
  setupMs: number[];
  durationMs: number;
}

export interface RunOptions {
  app: string;
  rate: number;
  count: number;
  holdMs: number | ((i: number) => number);
  /** How long to wait for the simulator to be empty after the last call ended. */
  settleMs?: number;
}

export async function runCalls(sim: AriSimulator, opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const maxHold = typeof opts.holdMs === 'number' ? opts.holdMs : opts.holdMs(0);
  let records: CallRecord[];
  try {
    records = await sim.runLoad({
      app: opts.app,
      count: opts.count,
      rate: opts.rate,
      holdMs: opts.holdMs,
      timeoutMs: (opts.count / opts.rate) * 1000 + maxHold + 30_000,
    });
  } catch {
    // The app's WebSocket went away (an overloaded gateway missed its pings): the run failed.
    records = [];
  }
  const empty = () => sim.channels().length === 0 && sim.bridges().length === 0;
  await sim.waitFor(empty, opts.settleMs ?? 10_000).catch(() => undefined);
  const failures = records.filter((r) =>
    r.bridgedAt === undefined || r.bridgeIds.length !== 1 || r.mediaChannelIds.length !== 1 || r.endedBy !== 'caller').length;
  return {
    records,
    failures: failures + (opts.count - records.length),
    leftovers: sim.channels().length + sim.bridges().length,
    setupMs: records.filter((r) => r.bridgedAt !== undefined).map((r) => r.bridgedAt! - r.startedAt),
    durationMs: performance.now() - started,
  };
}

/**
 * After a failed run: waits until the simulator stops changing (the services finish what they
 * queued), then removes what is left over ARI itself, and waits for the app's WebSocket, so the
 * next run starts on a clean system.
 */
export async function recover(sim: AriSimulator, app: string, authorization: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const now = sim.channels().length + sim.bridges().length;
    if (now === 0 || now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const del = (path: string) => fetch(`${sim.baseUrl}${path}`, { method: 'DELETE', headers: { authorization } }).catch(() => undefined);
  for (const c of sim.channels()) await del(`/channels/${encodeURIComponent(c.id)}`);
  for (const b of sim.bridges()) await del(`/bridges/${encodeURIComponent(b.id)}`);
  await sim.waitFor(() => sim.connections(app) === 1, 20_000, `${app} WebSocket back`).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
}
