// AudioSocketEcho: a media server that answers every AudioSocket session with 20 ms frames from
// the moment its UUID arrives (a silent peer can stall a real Asterisk), echoing received audio
// instead of silence when it has some.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  encodeFrame,
  frameBytesPer20ms,
  FrameKind,
  FrameReader,
  isAudioKind,
  uuidFromBytes,
  type Frame,
} from './audiosocket-frame.js';

export interface EchoSession {
  connectedAt: number;
  closedAt?: number;
  bytesIn: number;
  framesOut: number;
}

interface Connection {
  socket: Socket;
  reader: FrameReader;
  connectedAt: number;
  bytesIn: number;
  session: EchoSession | undefined;
  /** The audio kind to answer with: 0x10 (8 kHz slin) until the peer sends another kind. */
  kind: number;
  echo: Buffer[];
}

const FRAME_MS = 20;
/** Up to 1 s of received audio waits to be echoed; older frames are dropped. */
const MAX_ECHO_FRAMES = 50;
/** A peer that stops reading does not make us buffer without bound. */
const MAX_WRITE_BACKLOG = 64 * 1024;

const silenceByKind = new Map<number, Buffer>();

function silenceFrame(kind: number): Buffer {
  let frame = silenceByKind.get(kind);
  if (frame === undefined) {
    frame = encodeFrame(kind, Buffer.alloc(frameBytesPer20ms(kind)));
    silenceByKind.set(kind, frame);
  }
  return frame;
}

/** Sessions remembered for inspection; older ones are forgotten. */
const MAX_SESSIONS = 10_000;

export class AudioSocketEcho {
  readonly port: number;
  readonly host: string;
  readonly sessions = new Map<string, EchoSession>();

  private readonly active = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private ticker: NodeJS.Timeout | undefined;

  private constructor(private readonly server: Server, host: string, private readonly frameMs: number) {
    this.host = host;
    this.port = (server.address() as AddressInfo).port;
  }

  /**
   * `frameMs` (default 20): how often each session gets a frame; 0 sends one frame when the UUID
   * arrives and then only echoes (the benchmark: thousands of held calls, media is not measured).
   */
  static async start(opts: { host?: string; port?: number; frameMs?: number } = {}): Promise<AudioSocketEcho> {
    const host = opts.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const echo = new AudioSocketEcho(server, host, opts.frameMs ?? FRAME_MS);
    server.on('connection', (socket) => echo.accept(socket));
    return echo;
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const conn: Connection = {
      socket,
      reader: new FrameReader(),
      connectedAt: performance.now(),
      bytesIn: 0,
      session: undefined,
      kind: FrameKind.slin8,
      echo: [],
    };
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.close(conn));
  }

  private receive(conn: Connection, chunk: Buffer): void {
    conn.bytesIn += chunk.length;
    if (conn.session !== undefined) conn.session.bytesIn = conn.bytesIn;
    for (const frame of conn.reader.push(chunk)) {
      if (!this.handle(conn, frame)) {
        // Garbage or hangup: this connection ends, the server carries on.
        conn.socket.destroy();
        return;
      }
    }
  }

  /** Returns false when the connection must end. */
  private handle(conn: Connection, frame: Frame): boolean {
    if (conn.session === undefined) {
      if (frame.kind !== FrameKind.uuid || frame.payload.length !== 16) return false;
      const session: EchoSession = { connectedAt: conn.connectedAt, bytesIn: conn.bytesIn, framesOut: 0 };
      this.sessions.set(uuidFromBytes(frame.payload), session);
      // Long-running (the demo): remember only the newest sessions.
      if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
      conn.session = session;
      this.active.add(conn);
      this.sendFrame(conn);
      if (this.frameMs > 0) this.ticker ??= setInterval(() => this.tick(), this.frameMs);
      return true;
    }
    if (frame.kind === FrameKind.hangup) return false;
    if (isAudioKind(frame.kind)) {
      conn.kind = frame.kind;
      conn.echo.push(encodeFrame(frame.kind, frame.payload));
      if (conn.echo.length > MAX_ECHO_FRAMES) conn.echo.shift();
      // Without a ticker, audio is echoed as it arrives.
      if (this.frameMs === 0) this.sendFrame(conn);
      return true;
    }
    return frame.kind === FrameKind.dtmf || frame.kind === FrameKind.error || frame.kind === FrameKind.uuid;
  }

  private tick(): void {
    for (const conn of this.active) this.sendFrame(conn);
  }

  private sendFrame(conn: Connection): void {
    const socket = conn.socket;
    if (socket.destroyed || !socket.writable || socket.writableLength > MAX_WRITE_BACKLOG) return;
    socket.write(conn.echo.shift() ?? silenceFrame(conn.kind));
    if (conn.session !== undefined) conn.session.framesOut += 1;
  }

  private close(conn: Connection): void {
    this.sockets.delete(conn.socket);
    this.active.delete(conn);
    if (conn.session !== undefined && conn.session.closedAt === undefined) conn.session.closedAt = performance.now();
    if (this.active.size === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
