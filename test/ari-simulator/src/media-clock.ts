// One 20 ms clock for every chan_websocket channel (50 frames/s each): ticks are counted from
// the start so timer jitter does not change the rate, and it runs only while a channel needs it.

import { performance } from 'node:perf_hooks';

export const PTIME_MS = 20;
/** After a stall (a blocked event loop) at most this many ticks are caught up at once. */
const MAX_CATCH_UP = 5;

export interface Ticking {
  tick(): void;
}

export class MediaClock {
  private readonly members = new Set<Ticking>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private ticks = 0;

  add(member: Ticking): void {
    this.members.add(member);
    if (this.timer !== undefined) return;
    this.startedAt = performance.now();
    this.ticks = 0;
    this.timer = setInterval(() => this.run(), PTIME_MS / 2);
  }

  delete(member: Ticking): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.members.clear();
  }

  private run(): void {
    const due = Math.floor((performance.now() - this.startedAt) / PTIME_MS);
    if (due - this.ticks > MAX_CATCH_UP) this.ticks = due - MAX_CATCH_UP;
    while (this.ticks < due) {
      this.ticks += 1;
      for (const member of [...this.members]) member.tick();
    }
  }
}
