// WebSocketEcho: the chan_websocket media server beside AudioSocketEcho (a caller hears
// themselves): every binary frame is sent straight back. Client mode: it listens and accepts
// Asterisk's connection (any path, subprotocol `media`). Server mode: connect(url) dials Asterisk's
// /media/<connection id>, also reachable as `POST /connect {"url": ...}` on its port for the
// demo. Each session records MEDIA_START, frames and bytes each way, and how it opened and closed.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { parseMediaStart, type MediaStartFields } from './media-start.js';

export interface WebSocketEchoSession {
  /** `dialed`: we connected to Asterisk (server mode); `accepted`: Asterisk connected to us (client mode). */
  role: 'dialed' | 'accepted';
  /** The URL dialed, or the path and query Asterisk requested (its v() params show here). */
  url: string;
  /** The subprotocol agreed ('' for none). */
  protocol: string;
  openedAt: number;
  mediaStart?: MediaStartFields;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Text frames received, verbatim (MEDIA_START first), capped at 200. */
  textIn: string[];
  closedAt?: number;
  /** The close code received (1006 when the connection dropped without one). */
  closeCode?: number;
  closeReason?: string;
}

/** Handshake refused by Asterisk (404 unknown id, 400 subprotocol, 409 second connection). */
export class EchoConnectError extends Error {
  override readonly name = 'EchoConnectError';
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

const MAX_SESSIONS = 10_000;
const MAX_BACKLOG = 256 * 1024;

export class WebSocketEcho {
  readonly port: number;
  readonly host: string;
  /** Sessions by channel id, from their MEDIA_START. */
  readonly sessions = new Map<string, WebSocketEchoSession>();
  /** Every session in the order it opened, MEDIA_START or not. */
  readonly all: WebSocketEchoSession[] = [];
  private readonly sockets = new Map<WebSocketEchoSession, WebSocket>();

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    host: string,
  ) {
    this.host = host;
    this.port = (server.address() as AddressInfo).port;
  }

  static async start(opts: { host?: string; port?: number } = {}): Promise<WebSocketEcho> {
    const host = opts.host ?? '127.0.0.1';
    const server = createServer();
    const wss = new WebSocketServer({
      server,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const echo = new WebSocketEcho(server, wss, host);
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => echo.serve(ws, 'accepted', req.url ?? '/'));
    server.on('request', (req, res) => void echo.control(req, res));
    return echo;
  }

  /** The websocket_client URI for client mode. */
  get url(): string {
    return `ws://${this.host}:${this.port}/media`;
  }

  /** Server mode: dials Asterisk's /media/<connection id>; resolves once open. `protocol` null sends none. */
  connect(url: string, protocol: string | null = 'media'): Promise<WebSocketEchoSession> {
    const ws = new WebSocket(url, protocol === null ? [] : [protocol], { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        reject(new EchoConnectError(`${url}: HTTP ${res.statusCode}`, res.statusCode));
        res.resume();
        ws.terminate();
      });
      ws.once('error', (err) => reject(new EchoConnectError(`${url}: ${err.message}`, undefined)));
      ws.once('open', () => resolve(this.serve(ws, 'dialed', url)));
    });
  }

  /** The session of a channel id, or the newest one for a connection id. */
  session(id: string): WebSocketEchoSession | undefined {
    return this.sessions.get(id) ?? this.all.findLast((s) => s.mediaStart?.connectionId === id);
  }

  send(channelId: string, data: string | Buffer): void {
    this.socketOf(channelId).send(data);
  }

  /** The media server hangs up cleanly (Asterisk answers 1001 and hangs the channel up). */
  close(channelId: string, code = 1000, reason = ''): void {
    this.socketOf(channelId).close(code, reason);
  }

  /** The media server's TCP connection drops without a close frame (cause 38). */
  drop(channelId: string): void {
    this.socketOf(channelId).terminate();
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets.values()) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private socketOf(channelId: string): WebSocket {
    const session = this.session(channelId);
    const ws = session === undefined ? undefined : this.sockets.get(session);
    if (ws === undefined) throw new Error(`no open echo session for '${channelId}'`);
    return ws;
  }

  private serve(ws: WebSocket, role: WebSocketEchoSession['role'], url: string): WebSocketEchoSession {
    const session: WebSocketEchoSession = {
      role,
      url,
      protocol: ws.protocol,
      openedAt: performance.now(),
      framesIn: 0,
      bytesIn: 0,
      framesOut: 0,
      bytesOut: 0,
      textIn: [],
    };
    this.all.push(session);
    if (this.all.length > MAX_SESSIONS) this.all.shift();
    this.sockets.set(session, ws);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (!isBinary) return this.text(session, buf.toString('utf8'));
      session.framesIn += 1;
      session.bytesIn += buf.length;
      if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BACKLOG) return;
      ws.send(buf, { binary: true });
      session.framesOut += 1;
      session.bytesOut += buf.length;
    });
    ws.on('error', () => {});
    ws.on('close', (code: number, reason: Buffer) => {
      this.sockets.delete(session);
      session.closedAt = performance.now();
      session.closeCode = code;
      session.closeReason = reason.toString('utf8');
    });
    return session;
  }

  private text(session: WebSocketEchoSession, text: string): void {
    if (session.textIn.length < 200) session.textIn.push(text);
    if (session.mediaStart !== undefined) return;
    const start = parseMediaStart(text);
    if (start === undefined) return;
    session.mediaStart = start;
    this.sessions.set(start.channelId, session);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  /** `POST /connect {"url": "ws://asterisk:8088/media/<id>"}` and `GET /sessions`, for the demo. */
  private async control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/sessions') return reply(200, this.all);
    if (req.method !== 'POST' || req.url !== '/connect') return reply(404, { error: 'not found' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let url: unknown;
    try {
      url = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { url?: unknown }).url;
    } catch {
      url = undefined;
    }
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) return reply(400, { error: 'body must be {"url": "ws://..."}' });
    try {
      const session = await this.connect(url);
      reply(200, { url: session.url, protocol: session.protocol });
    } catch (err) {
      reply(502, { error: err instanceof Error ? err.message : String(err), status: err instanceof EchoConnectError ? err.status : undefined });
    }
  }
}
