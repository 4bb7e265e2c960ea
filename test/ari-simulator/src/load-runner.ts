// runLoad(): places calls at a steady rate, each caller hanging up after its hold time.

import { performance } from 'node:perf_hooks';
import type { CallRecord } from './types.js';

export interface LoadOptions {
  count: number;
  rate: number;
  holdMs: number | ((i: number) => number);
  app?: string;
  timeoutMs?: number;
}

export interface LoadTarget {
  placeCall(opts: { app?: string }): CallRecord;
  hangup(channelId: string): void;
  onCallEnded(fn: (record: CallRecord) => void): () => void;
  later(ms: number, fn: () => void): void;
}

/** Ticks every 5 ms and catches up to `rate`, so high rates do not depend on timer precision. */
const TICK_MS = 5;

export function runLoad(target: LoadTarget, opts: LoadOptions): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  const mine = new Set<string>();
  const app = opts.app ?? 'ai_app';
  let placed = 0;
  let ended = 0;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let ticker: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const unsubscribe = target.onCallEnded((record) => {
      if (!mine.has(record.channelId)) return;
      ended += 1;
      if (placed === opts.count && ended === placed) finish();
    });
    const finish = (err?: unknown) => {
      clearInterval(ticker);
      clearTimeout(deadline);
      unsubscribe();
      if (err === undefined) resolve(records);
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
    const tick = () => {
      const due = Math.min(opts.count, Math.floor(((performance.now() - start) * opts.rate) / 1000) + 1);
      while (placed < due) {
        let record: CallRecord;
        try {
          record = target.placeCall({ app });
        } catch (err) {
          finish(err);
          return;
        }
        const index = placed;
        placed += 1;
        mine.add(record.channelId);
        records.push(record);
        const hold = typeof opts.holdMs === 'function' ? opts.holdMs(index) : opts.holdMs;
        target.later(hold, () => target.hangup(record.channelId));
      }
      if (placed >= opts.count) clearInterval(ticker);
    };
    if (opts.count <= 0 || opts.rate <= 0) {
      finish();
      return;
    }
    deadline = setTimeout(() => finish(), opts.timeoutMs ?? 60000);
    ticker = setInterval(tick, TICK_MS);
    tick();
  });
}
