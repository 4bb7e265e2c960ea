// What the simulated caller puts into the bridge each 20 ms, i.e. what a chan_websocket media
// server receives: nothing unless another channel shares the bridge, the first frame all zeros
// (as every recording shows), then a tone, or the media server's own played audio (Echo()).

import type { SimChannel } from './sim-model.js';
import { CallerAudio } from './websocket-media-types.js';

export class CallerAudioSource {
  private started = false;

  constructor(
    private readonly mode: CallerAudio,
    private readonly format: string,
    private readonly frameSize: number,
  ) {}

  /** `played`: the frame the media server had played to the caller this tick, if any. */
  next(ch: SimChannel, played: Buffer | undefined): Buffer | undefined {
    const bridge = ch.bridge;
    if (bridge === undefined || bridge.channels.length < 2 || this.mode === CallerAudio.silent) return undefined;
    if (this.mode === CallerAudio.echo && played === undefined) return undefined;
    const size = played !== undefined && this.mode === CallerAudio.echo ? played.length : this.frameSize;
    if (!this.started) {
      this.started = true;
      return Buffer.alloc(size);
    }
    return this.mode === CallerAudio.echo ? played : toneFrame(this.format, size);
  }
}

const tones = new Map<string, Buffer>();

/** A 400 Hz tone for slin formats (8 periods per 20 ms, so frames join seamlessly); a byte ramp otherwise. */
function toneFrame(format: string, size: number): Buffer {
  const key = `${format}/${size}`;
  let frame = tones.get(key);
  if (frame === undefined) {
    frame = Buffer.alloc(size);
    if (format.startsWith('slin')) {
      const samples = size / 2;
      for (let i = 0; i < samples; i += 1) frame.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 8 * i) / samples)), i * 2);
    } else {
      for (let i = 0; i < size; i += 1) frame[i] = (i * 37) & 0xff;
    }
    tones.set(key, frame);
  }
  return frame;
}
