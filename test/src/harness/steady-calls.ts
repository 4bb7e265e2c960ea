/**
 * Calls at a steady rate for as long as a test needs them, the way callers behave: each waits
 * for its call to be set up (bridged), stays `holdMs` and hangs up; one not set up within
 * `giveUpMs` is counted unserved and hangs up. A call Asterisk could not hand to the app (no
 * WebSocket holds it: "Stasis app not active") is counted refused.
 */
import type { AriSimulator, CallRecord } from '@avb/ari-simulator';
import { nothingLeft } from './stack.js';
import { sleep } from './util.js';

export interface SteadyCallsOptions {
  rate: number;
  holdMs: number;
  giveUpMs: number;
}

export interface CallFigures {
  placed: number;
  'set up': number;
  refused: number;
  unserved: number;
  /** Hung up by the app (ARI) before they were set up: the call failed. */
  failed: number;
  /** Channels and bridges still in the simulator once every caller has hung up. */
  left: number;
  /** The longest time without a call setup while calls were placed (from the start to the first, between two, from the last to the end). */
  'longest setup gap ms': number;
  /** The longest a caller set up waited for it (placed to bridged). */
  'slowest setup ms': number;
}

export interface SteadyCalls {
  /** Wall-clock start (Date.now()), to pick the services' log lines written meanwhile. */
  startedAt: number;
  /**
   * Stops placing calls, waits for every caller to be done and for the simulator to be empty
   * (at most `cleanupMs`, default 15 s: reconciliation may have to remove what an outage left)
   * and returns the figures.
   */
  stop(cleanupMs?: number): Promise<CallFigures>;
  /** Stops placing calls at once and hangs every caller up, figures or not (a test that failed midway: nothing keeps running). */
  halt(): void;
  /** The callers counted unserved or failed, for a closer look in the services' logs. */
  troubled(): CallRecord[];
}

export function startSteadyCalls(sim: AriSimulator, opts: SteadyCallsOptions): SteadyCalls {
  const startedAt = performance.now();
  const calls: CallRecord[] = [];
  const done: Array<Promise<void>> = [];
  let refused = 0;
  const unserved: CallRecord[] = [];
  let running = true;

  // One timer looks at every waiting caller (a timer per caller would load the test process,
  // which also runs the simulator, enough to slow Asterisk's answers down).
  const waiting = new Map<CallRecord, { deadline: number; settled: () => void }>();
  const watcher = setInterval(() => {
    const now = performance.now();
    for (const [call, w] of waiting) {
      if (call.bridgedAt === undefined && call.endedAt === undefined && now < w.deadline) continue;
      waiting.delete(call);
      w.settled();
    }
  }, 20);
  const follow = async (call: CallRecord) => {
    await new Promise<void>((settled) => waiting.set(call, { deadline: performance.now() + opts.giveUpMs, settled }));
    if (call.bridgedAt === undefined && call.endedAt === undefined) unserved.push(call);
    else if (call.bridgedAt !== undefined) await sleep(opts.holdMs);
    sim.hangup(call.channelId);
  };
  const placer = (async () => {
    for (let i = 0; running; i++) {
      try {
        const call = sim.placeCall();
        calls.push(call);
        done.push(follow(call));
      } catch {
        refused += 1;
      }
      await sleep(Math.max(0, startedAt + ((i + 1) * 1000) / opts.rate - performance.now()));
    }
  })();

  return {
    startedAt: Date.now(),
    async stop(cleanupMs = 15_000) {
      running = false;
      await placer;
      const placedUntil = performance.now();
      await Promise.all(done);
      clearInterval(watcher);
      const left = await nothingLeft(sim, 'the steady calls', cleanupMs).then(() => 0, (err: unknown) => {
        console.log(`  ${(err as Error).message}`); // what was left, for the failure's reader
        return sim.channels().length + sim.bridges().length;
      });
      const setups = calls.flatMap((c) => (c.bridgedAt === undefined ? [] : [c.bridgedAt])).sort((a, b) => a - b);
      let gap = setups.length === 0 ? performance.now() - startedAt : setups[0]! - startedAt;
      for (let i = 1; i < setups.length; i++) gap = Math.max(gap, setups[i]! - setups[i - 1]!);
      // Calls placed after the last setup that never came up count too (less one hold's worth of setup time).
      const lastPlaced = calls.at(-1)?.startedAt ?? placedUntil;
      if (setups.length > 0 && lastPlaced > setups.at(-1)!) gap = Math.max(gap, lastPlaced - setups.at(-1)!);
      return {
        placed: calls.length + refused,
        'set up': setups.length,
        refused,
        unserved: unserved.length,
        failed: calls.filter((c) => c.bridgedAt === undefined && c.endedBy === 'ari').length,
        left,
        'longest setup gap ms': Math.round(gap),
        'slowest setup ms': Math.round(Math.max(0, ...calls.map((c) => (c.bridgedAt === undefined ? 0 : c.bridgedAt - c.startedAt)))),
      };
    },
    halt() {
      running = false;
      clearInterval(watcher);
      // Nobody waits any more: every caller still there hangs up (so the next test starts clean).
      for (const call of calls) if (call.endedAt === undefined) sim.hangup(call.channelId);
    },
    troubled: () => [...unserved, ...calls.filter((c) => c.bridgedAt === undefined && c.endedBy === 'ari')],
  };
}

/** `placed 200, set up 200, ...`: one line for t.diagnostic and the console. */
export const describeFigures = (what: string, f: CallFigures) => `${what}: ${Object.entries(f).map(([k, v]) => `${k} ${v}`).join(', ')}`;
