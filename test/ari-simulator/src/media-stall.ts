// The client-mode trap (server-silent.json): while Asterisk is connecting to a websocket_client,
// new channels wait (externalMedia requests, dialplan callers) and so does a DELETE of the
// channel being connected; GETs and bridges do not. The gate holds from the first connection
// try to the last, so a media server that accepts TCP and never answers holds it indefinitely.

import { performance } from 'node:perf_hooks';
import type { MediaStallRecord } from './websocket-media-types.js';

/** Stall records kept for tests; older ones are forgotten. */
const MAX_RECORDS = 10_000;

export class StallGate {
  readonly records: MediaStallRecord[] = [];
  private readonly holders = new Map<string, MediaStallRecord>();
  private waiters: Array<{ wake: () => void; channelId: string | undefined }> = [];

  get stalled(): boolean {
    return this.holders.size > 0;
  }

  hold(channelId: string, clientId: string): void {
    if (this.holders.has(channelId)) return;
    const record: MediaStallRecord = { channelId, clientId, startedAt: performance.now() };
    this.holders.set(channelId, record);
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.shift();
  }

  release(channelId: string): void {
    const record = this.holders.get(channelId);
    if (record === undefined) return;
    record.endedAt = performance.now();
    this.holders.delete(channelId);
    this.wake(false);
  }

  releaseAll(): void {
    for (const id of [...this.holders.keys()]) this.release(id);
    this.wake(true);
  }

  /**
   * Resolves once no connection is in progress (at once when none is). Waiters are first in
   * line: a connection started after they queued does not hold them again (no convoy at load).
   */
  async pass(): Promise<void> {
    if (this.holders.size > 0) await new Promise<void>((r) => this.waiters.push({ wake: r, channelId: undefined }));
  }

  /** Resolves once `channelId` is not being connected (a DELETE of it waits for that). */
  async settled(channelId: string): Promise<void> {
    if (this.holders.has(channelId)) await new Promise<void>((r) => this.waiters.push({ wake: r, channelId }));
  }

  private wake(all: boolean): void {
    const ready: Array<() => void> = [];
    const waiting: typeof this.waiters = [];
    for (const w of this.waiters) {
      const free = w.channelId === undefined ? this.holders.size === 0 : !this.holders.has(w.channelId);
      if (all || free) ready.push(w.wake);
      else waiting.push(w);
    }
    this.waiters = waiting;
    for (const wake of ready) wake();
  }

  /** Runs `fn` now, or when the gate opens (a dialplan caller's channel is created then). */
  whenClear(fn: () => void): void {
    if (this.holders.size === 0) fn();
    else void this.pass().then(fn);
  }
}
