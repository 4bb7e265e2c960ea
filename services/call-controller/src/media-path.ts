/**
 * Whether this instance's media path works, from what its call machines report (`media_path`
 * effects), for its stats and so /health. `degraded` while some media channel has waited longer
 * than the threshold to come up, and after such a delay (or a media command or wait that timed
 * out) until a media channel comes up in time again or HOLD_MS have passed.
 *
 * Why: with chan_websocket in client mode, a media server that accepts TCP and never answers the
 * WebSocket handshake stalls Asterisk 22.10.1 (no timeout): new media channels and callers, and
 * the hangup of the stuck channel, wait until that socket closes (~40 s in the recording). Nothing
 * fails fast; what shows is media channels that do not come up and commands timing out.
 */
import type { MediaPathEvent } from './call-machine.js';

/** A bad sign keeps the path degraded this long unless a media channel comes up in time. */
export const HOLD_MS = 60_000;

export interface MediaPathSnapshot {
  transport: string;
  connection?: string;
  state: 'ok' | 'degraded';
  since?: string;
  reason?: string;
  slow: number;
  timeouts: number;
}

export class MediaPath {
  private waitingSlow = 0;
  private lastBad: { at: number; reason: string } | undefined;
  private degradedSince: number | undefined;
  private slow = 0;
  private timeouts = 0;

  constructor(
    private readonly what: { transport: string; connection?: string; slowMs: number },
    private readonly onChange: (state: MediaPathSnapshot) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  observe(e: MediaPathEvent): void {
    switch (e.kind) {
      case 'up':
        // Late but up: not a sign of health (its slowness was counted when it began).
        if (e.ms <= this.what.slowMs && this.waitingSlow === 0) this.lastBad = undefined;
        break;
      case 'slow':
        this.waitingSlow += 1;
        this.slow += 1;
        this.lastBad = { at: this.now(), reason: `media channels not up after ${this.what.slowMs} ms` };
        break;
      case 'slow_over':
        // Still a bad sign when the wait ends: the hold counts from here.
        this.waitingSlow = Math.max(0, this.waitingSlow - 1);
        this.lastBad = { at: this.now(), reason: `a media channel took longer than ${this.what.slowMs} ms to come up (or never did)` };
        break;
      case 'timeout':
        this.timeouts += 1;
        this.lastBad = { at: this.now(), reason: `${e.what} timed out` };
        break;
    }
    this.update();
  }

  snapshot(): MediaPathSnapshot {
    this.update();
    return this.view();
  }

  private degraded(): boolean {
    return this.waitingSlow > 0 || (this.lastBad !== undefined && this.now() - this.lastBad.at < HOLD_MS);
  }

  private update(): void {
    const degraded = this.degraded();
    if (degraded === (this.degradedSince !== undefined)) return;
    this.degradedSince = degraded ? this.now() : undefined;
    if (!degraded) this.lastBad = undefined;
    this.onChange(this.view());
  }

  private view(): MediaPathSnapshot {
    const { transport, connection } = this.what;
    const base = { transport, ...(connection === undefined ? {} : { connection }), slow: this.slow, timeouts: this.timeouts };
    if (this.degradedSince === undefined) return { ...base, state: 'ok' };
    const waiting = this.waitingSlow > 0 ? `${this.waitingSlow} media channel(s) waited for longer than ${this.what.slowMs} ms` : undefined;
    const last = this.lastBad ? `last: ${this.lastBad.reason} ${Math.round((this.now() - this.lastBad.at) / 1000)} s ago` : undefined;
    return { ...base, state: 'degraded', since: new Date(this.degradedSince).toISOString(), reason: [waiting, last].filter(Boolean).join('; ') };
  }
}
