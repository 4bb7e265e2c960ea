/**
 * ARI requests per call and the sequential round trips on the setup path, from the simulator's
 * request log: single calls on an idle system, each request's depth being one more than the
 * deepest request of the call that had been answered before it arrived.
 */
import type { AriSimulator, RequestLogEntry } from '@avb/ari-simulator';
import { round2, summarize } from './percentiles.js';

export interface RoundTripResult {
  calls: number;
  /** Mean ARI requests per call, setup and teardown. */
  requestsPerCall: number;
  setupRequestsPerCall: number;
  /** The most sequential round trips any setup needed. */
  setupRoundTrips: number;
  /** Requests of one call, in arrival order, with their depth (0: teardown) and when they
   *  arrived and were answered, ms after the caller's StasisStart. */
  example: Array<{ method: string; path: string; roundTrip: number; receivedMs: number; answeredMs: number }>;
  /** Median over the calls: StasisStart -> first request arrives, and -> bridged. */
  firstRequestMs: number;
  bridgedMs: number;
}

export async function measureRoundTrips(sim: AriSimulator, app: string, calls: number): Promise<RoundTripResult> {
  let requests = 0;
  let setupRequests = 0;
  let maxDepth = 0;
  let example: RoundTripResult['example'] = [];
  const firstRequest: number[] = [];
  const bridged: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const call = sim.placeCall({ app });
    await sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');
    sim.hangup(call.channelId);
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 5000, 'call torn down');
    const mine = sim.requests.filter((r) => r.receivedAt >= t0).sort((a, b) => a.receivedAt - b.receivedAt);
    const setup = mine.filter((r) => r.receivedAt <= call.bridgedAt!);
    const depths = depthsOf(setup);
    requests += mine.length;
    setupRequests += setup.length;
    maxDepth = Math.max(maxDepth, ...depths);
    const t = (ms: number) => round2(ms - call.startedAt);
    if (setup[0] !== undefined) firstRequest.push(setup[0].receivedAt - call.startedAt);
    bridged.push(call.bridgedAt! - call.startedAt);
    if (i === 0) {
      example = mine.map((r, k) => ({ method: r.method, path: r.path, roundTrip: depths[k] ?? 0, receivedMs: t(r.receivedAt), answeredMs: t(r.at) }));
    }
  }
  return {
    calls,
    requestsPerCall: requests / calls,
    setupRequestsPerCall: setupRequests / calls,
    setupRoundTrips: maxDepth,
    example,
    firstRequestMs: summarize(firstRequest).p50,
    bridgedMs: summarize(bridged).p50,
  };
}

/** depth(b) = 1 + max depth(a) over the requests a answered before b arrived. */
function depthsOf(sorted: RequestLogEntry[]): number[] {
  const depths: number[] = [];
  sorted.forEach((b, j) => {
    let depth = 1;
    for (let i = 0; i < j; i++) if (sorted[i]!.at <= b.receivedAt) depth = Math.max(depth, depths[i]! + 1);
    depths.push(depth);
  });
  return depths;
}
