// RFC 6455 frames for the media sockets. The simulator speaks the protocol itself (instead of
// the `ws` package) so it controls what chan_websocket does and `ws` would not: answering a
// peer's close with its own code, and the exact header order of its client handshake.

import { randomFillSync } from 'node:crypto';

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export class WsProtocolError extends Error {
  override readonly name = 'WsProtocolError';
}

/** Masks are drawn from one refilled pool: the client side masks 50 frames/s per call. */
const maskPool = Buffer.alloc(4096);
let maskAt = maskPool.length;

function nextMask(): Buffer {
  if (maskAt + 4 > maskPool.length) {
    randomFillSync(maskPool);
    maskAt = 0;
  }
  maskAt += 4;
  return maskPool.subarray(maskAt - 4, maskAt);
}

function unmask(payload: Buffer, mask: Buffer): void {
  for (let i = 0; i < payload.length; i += 1) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
}

/** One unfragmented frame; `masked` for frames a client sends. */
export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const len = payload.length;
  const lengthBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + lengthBytes + (masked ? 4 : 0);
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x80 | opcode;
  frame[1] = (masked ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lengthBytes === 2) frame.writeUInt16BE(len, 2);
  else if (lengthBytes === 8) frame.writeBigUInt64BE(BigInt(len), 2);
  payload.copy(frame, head);
  if (masked) {
    const mask = nextMask();
    mask.copy(frame, head - 4);
    unmask(frame.subarray(head), mask);
  }
  return frame;
}

export function closePayload(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

/** 1005 "no status" when the close frame carried no code. */
export function parseClosePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

/** Incremental frame parser for one direction of a connection. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);

  /** `fromClient`: frames must be masked (a server reads them) or must not (a client reads them). */
  constructor(
    private readonly fromClient: boolean,
    private readonly maxPayload: number,
  ) {}

  push(chunk: Buffer): WsFrame[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: WsFrame[] = [];
    let at = 0;
    for (;;) {
      const frame = this.readOne(buf, at);
      if (frame === undefined) break;
      frames.push(frame.frame);
      at = frame.next;
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    return frames;
  }

  private readOne(buf: Buffer, start: number): { frame: WsFrame; next: number } | undefined {
    if (buf.length - start < 2) return undefined;
    const b0 = buf[start] as number;
    const b1 = buf[start + 1] as number;
    if ((b0 & 0x70) !== 0) throw new WsProtocolError('reserved bits set (no extension was negotiated)');
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.fromClient) throw new WsProtocolError(masked ? 'masked frame from a server' : 'unmasked frame from a client');
    let len = b1 & 0x7f;
    let at = start + 2;
    if (len === 126) {
      if (buf.length - at < 2) return undefined;
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (buf.length - at < 8) return undefined;
      const big = buf.readBigUInt64BE(at);
      if (big > BigInt(this.maxPayload)) throw new WsProtocolError(`frame of ${big} bytes is too large`);
      len = Number(big);
      at += 8;
    }
    if (len > this.maxPayload) throw new WsProtocolError(`frame of ${len} bytes is too large`);
    const maskAtOffset = at;
    if (masked) at += 4;
    if (buf.length - at < len) return undefined;
    const payload = Buffer.from(buf.subarray(at, at + len));
    if (masked) unmask(payload, buf.subarray(maskAtOffset, maskAtOffset + 4));
    return { frame: { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload }, next: at + len };
  }
}
