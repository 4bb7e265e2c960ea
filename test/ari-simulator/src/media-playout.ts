// The media server's audio on its way to the caller, as chan_websocket queues it: binary
// messages cut into optimal-size frames, one played per 20 ms tick; marks, the end of a
// buffered block and a drain report ride in the queue and are reported on the tick after the
// last frame before them (recorded: 100 frames then MEDIA_MARK_PROCESSED ~2.0 s later).

export const XON_LEVEL = 800;
export const XOFF_LEVEL = 900;

type Item = { frame: Buffer; note?: undefined } | { frame?: undefined; note: PlayoutNote };

export type PlayoutNote =
  | { kind: 'markProcessed'; id: string }
  | { kind: 'bufferingCompleted'; id: string }
  | { kind: 'drained' }
  | { kind: 'xoff' }
  | { kind: 'xon' };

export class PlayoutQueue {
  paused = false;
  private items: Item[] = [];
  private head = 0;
  private frames = 0;
  private buffering = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private drainWanted = false;
  private xoff = false;

  constructor(private readonly frameSize: number) {}

  /** Frames waiting to be played (GET_STATUS queue_length). */
  get length(): number {
    return this.frames;
  }

  get full(): boolean {
    return this.xoff;
  }

  get bulk(): boolean {
    return this.buffering;
  }

  /** One binary message. Outside buffering its tail becomes a short frame of its own. */
  enqueue(data: Buffer): PlayoutNote[] {
    if (this.buffering) {
      this.pending.push(data);
      this.pendingBytes += data.length;
      const whole = this.pendingBytes - (this.pendingBytes % this.frameSize);
      if (whole > 0) this.cutPending(whole);
    } else {
      for (let at = 0; at < data.length; at += this.frameSize) this.push({ frame: data.subarray(at, at + this.frameSize) });
    }
    if (!this.xoff && this.frames >= XOFF_LEVEL) {
      this.xoff = true;
      return [{ kind: 'xoff' }];
    }
    return [];
  }

  mark(id: string): void {
    this.push({ note: { kind: 'markProcessed', id } });
  }

  /** Drops queued audio and the marks behind it (they are never reported). */
  flush(): PlayoutNote[] {
    this.items = [];
    this.head = 0;
    this.frames = 0;
    this.pending = [];
    this.pendingBytes = 0;
    return this.checkXon();
  }

  startBuffering(): void {
    this.buffering = true;
  }

  /** Queues what was buffered (the tail as a short frame), then the completion report. */
  stopBuffering(id: string): void {
    if (this.pendingBytes > 0) this.cutPending(this.pendingBytes);
    this.buffering = false;
    this.push({ note: { kind: 'bufferingCompleted', id } });
  }

  reportWhenDrained(): void {
    this.drainWanted = true;
  }

  /** One 20 ms tick: the notes now due, and the frame played (undefined when none). */
  tick(): { frame: Buffer | undefined; notes: PlayoutNote[] } {
    const notes: PlayoutNote[] = [];
    if (this.paused) return { frame: undefined, notes };
    while (this.head < this.items.length && this.items[this.head]?.note !== undefined) {
      notes.push((this.items[this.head] as { note: PlayoutNote }).note);
      this.head += 1;
    }
    if (this.drainWanted && this.frames === 0) {
      this.drainWanted = false;
      notes.push({ kind: 'drained' });
    }
    let frame: Buffer | undefined;
    const next = this.items[this.head];
    if (next?.frame !== undefined) {
      frame = next.frame;
      this.head += 1;
      this.frames -= 1;
      notes.push(...this.checkXon());
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return { frame, notes };
  }

  private push(item: Item): void {
    this.items.push(item);
    if (item.frame !== undefined) this.frames += 1;
  }

  private cutPending(bytes: number): void {
    const all = Buffer.concat(this.pending);
    for (let at = 0; at < bytes; at += this.frameSize) this.push({ frame: all.subarray(at, Math.min(at + this.frameSize, bytes)) });
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  private checkXon(): PlayoutNote[] {
    if (this.xoff && this.frames <= XON_LEVEL) {
      this.xoff = false;
      return [{ kind: 'xon' }];
    }
    return [];
  }
}
