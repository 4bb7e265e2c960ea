// One open WebSocket over a socket whose handshake is done: messages in (fragments joined),
// messages out, pings answered, and the close handshake left to the owner: a peer's close frame
// is reported and answered with whatever code the owner picks (Asterisk answers 1001).

import type { Duplex } from 'node:stream';
import { closePayload, encodeFrame, FrameParser, Opcode, parseClosePayload, WsProtocolError, type WsFrame } from './ws-codec.js';

export interface WsPeerHandlers {
  text(data: string): void;
  binary(data: Buffer): void;
  /** The peer sent a close frame; answer with `reply(code)` (otherwise its code is echoed). */
  closed(code: number, reason: string): void;
  /** The connection ended without a close frame (TCP reset or FIN, or a protocol violation). */
  dropped(): void;
}

/** Bigger than any message seen (64000 bytes of queued audio in one binary frame). */
const MAX_PAYLOAD = 4 * 1024 * 1024;
/** A peer that never answers our close frame does not keep the socket. */
const CLOSE_GRACE_MS = 2000;

export class WsPeer {
  private readonly parser: FrameParser;
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closeSent = false;
  private closeReceived = false;
  private ended = false;

  /** `role`: which side the simulator is; a client masks what it sends. */
  constructor(
    private readonly socket: Duplex,
    private readonly role: 'server' | 'client',
    head: Buffer,
    private readonly handlers: WsPeerHandlers,
  ) {
    this.parser = new FrameParser(role === 'server', MAX_PAYLOAD);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.socketClosed());
    if (head.length > 0) this.receive(head);
    socket.resume();
  }

  get open(): boolean {
    return !this.closeSent && !this.closeReceived && !this.ended;
  }

  /** A close frame can still be sent (also while answering the peer's close). */
  get closable(): boolean {
    return !this.closeSent && !this.ended;
  }

  /** Bytes waiting in the socket: a media server that stops reading must not grow it forever. */
  get backlog(): number {
    return 'writableLength' in this.socket ? (this.socket as { writableLength: number }).writableLength : 0;
  }

  sendText(data: string): void {
    if (this.open) this.socket.write(encodeFrame(Opcode.text, Buffer.from(data, 'utf8'), this.role === 'client'));
  }

  sendBinary(data: Buffer): void {
    if (this.open) this.socket.write(encodeFrame(Opcode.binary, data, this.role === 'client'));
  }

  /** Starts the close handshake, or answers the peer's close frame. Sent once. */
  close(code: number, reason = ''): void {
    if (this.closeSent || this.ended) return;
    this.closeSent = true;
    this.socket.write(encodeFrame(Opcode.close, closePayload(code, reason), this.role === 'client'));
    if (this.closeReceived) this.socket.end();
    else setTimeout(() => this.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Drops the TCP connection without a close frame; `dropped` is not reported for it. */
  terminate(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.ended || this.socket.destroyed) return;
    let frames: WsFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      if (!(err instanceof WsProtocolError)) throw err;
      // A protocol violation ends the connection like a drop (the owner hangs up).
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (this.ended || this.closeReceived || this.socket.destroyed) return;
      this.handle(frame);
    }
  }

  private handle(frame: WsFrame): void {
    switch (frame.opcode) {
      case Opcode.ping:
        if (!this.closeSent) this.socket.write(encodeFrame(Opcode.pong, frame.payload, this.role === 'client'));
        return;
      case Opcode.pong:
        return;
      case Opcode.close:
        this.peerClosed(frame.payload);
        return;
      case Opcode.text:
      case Opcode.binary:
        this.fragmentOpcode = frame.opcode;
        this.fragments = [frame.payload];
        break;
      case Opcode.continuation:
        this.fragments.push(frame.payload);
        break;
      default:
        this.socket.destroy();
        return;
    }
    if (!frame.fin) return;
    const data = this.fragments.length === 1 ? (this.fragments[0] as Buffer) : Buffer.concat(this.fragments);
    this.fragments = [];
    if (this.closeSent) return;
    if (this.fragmentOpcode === Opcode.text) this.handlers.text(data.toString('utf8'));
    else this.handlers.binary(data);
  }

  private peerClosed(payload: Buffer): void {
    this.closeReceived = true;
    if (this.closeSent) {
      // The answer to our own close: the handshake is over.
      this.socket.end();
      return;
    }
    const { code, reason } = parseClosePayload(payload);
    this.handlers.closed(code, reason);
    if (!this.closeSent) this.close(code === 1005 ? 1000 : code);
  }

  private socketClosed(): void {
    const reported = this.closeReceived || this.closeSent || this.ended;
    this.ended = true;
    if (!reported) this.handlers.dropped();
  }
}
