// AudioSocket framing: 1 byte kind, 2 bytes big-endian payload length, payload.

export const FrameKind = {
  hangup: 0x00,
  uuid: 0x01,
  dtmf: 0x03,
  slin8: 0x10,
  slin12: 0x11,
  slin16: 0x12,
  slin24: 0x13,
  slin32: 0x14,
  slin44: 0x15,
  slin48: 0x16,
  slin96: 0x17,
  slin192: 0x18,
  error: 0xff,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  kind: number;
  payload: Buffer;
}

const HEADER = 3;

/** 20 ms of 16-bit mono audio for each slin kind (0x10 = 8 kHz ... 0x18 = 192 kHz). */
const SAMPLE_RATES: Record<number, number> = {
  0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000, 0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000,
};

export function isAudioKind(kind: number): boolean {
  return SAMPLE_RATES[kind] !== undefined;
}

export function frameBytesPer20ms(kind: number): number {
  return Math.round(((SAMPLE_RATES[kind] ?? 8000) / 50) * 2);
}

export function encodeFrame(kind: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt8(kind, 0);
  frame.writeUInt16BE(payload.length, 1);
  payload.copy(frame, HEADER);
  return frame;
}

export function uuidFrame(uuid: string): Buffer {
  return encodeFrame(FrameKind.uuid, Buffer.from(uuid.replaceAll('-', ''), 'hex'));
}

export function uuidFromBytes(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Incremental parser for a TCP byte stream. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= HEADER) {
      const length = buf.readUInt16BE(at + 1);
      if (buf.length - at < HEADER + length) break;
      frames.push({ kind: buf.readUInt8(at), payload: buf.subarray(at + HEADER, at + HEADER + length) });
      at += HEADER + length;
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return frames;
  }
}
