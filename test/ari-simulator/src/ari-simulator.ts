// AriSimulator: the composition root of the fake Asterisk (HTTP + WebSocket on one port).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AppSockets } from './app-sockets.js';
import { AUTH_REQUIRED_BODY, isAuthorized, type Credentials } from './auth.js';
import { hangupFromFarEnd, placeCall, type PlaceCallOptions } from './channel-ops.js';
import { FaultRules, type FaultMatch, type FaultResponse } from './fault-rules.js';
import { handleRequest, splitUrl } from './http-handler.js';
import { runLoad, type LoadOptions } from './load-runner.js';
import { bridgeJson, channelJson } from './sim-model.js';
import { closeMedia, SimState } from './sim-state.js';
import type { AriEvent, Bridge, CallRecord, Channel, FrameLogEntry, RequestLogEntry, SimulatorOptions } from './types.js';
import type { CrashRecord, MediaStallRecord, WebSocketMediaRecord } from './websocket-media-types.js';

export class AriSimulator {
  readonly port: number;
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly calls: Map<string, CallRecord>;
  readonly requests: RequestLogEntry[] = [];
  readonly sentFrames: FrameLogEntry[];
  /** chan_websocket media channels by channel id, kept after they end. */
  readonly websocketMedia: Map<string, WebSocketMediaRecord>;
  /** Client-mode connections, each of which held up channel creation while it lasted. */
  readonly mediaStalls: MediaStallRecord[];
  /** Requests that would have crashed a real 22.10.1 (see crashes). */
  readonly crashLog: CrashRecord[] = [];

  private latencyMs: number;
  private readonly faults = new FaultRules();

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly sockets: AppSockets,
    private readonly state: SimState,
    private readonly host: string,
    latencyMs: number,
  ) {
    this.port = (server.address() as AddressInfo).port;
    this.baseUrl = `http://${host}:${this.port}/ari`;
    this.wsUrl = `ws://${host}:${this.port}/ari/events`;
    this.calls = state.calls;
    this.sentFrames = sockets.sentFrames;
    this.websocketMedia = state.websocket.records;
    this.mediaStalls = state.websocket.stall.records;
    this.latencyMs = latencyMs;
    state.onCrash = (reason, params) => {
      this.crashLog.push({ at: performance.now(), reason, params });
      // Asterisk is gone: the request gets a reset, the event sockets close without a frame.
      this.sockets.dropAll();
      this.server.closeAllConnections();
    };
  }

  static async start(opts: SimulatorOptions = {}): Promise<AriSimulator> {
    const host = opts.host ?? '127.0.0.1';
    const creds: Credentials = { username: opts.username ?? 'asterisk', password: opts.password ?? 'asterisk' };
    const logLimit = opts.logLimit ?? 200_000;
    const asteriskId = opts.asteriskId ?? '02:fc:00:00:00:01';
    const sockets = new AppSockets(asteriskId, logLimit);
    const state = new SimState(sockets, opts.mediaConnectTimeoutMs ?? 2000, asteriskId, opts);
    const server = createServer();
    server.keepAliveTimeout = 60_000;
    const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const sim = new AriSimulator(server, wss, sockets, state, host, opts.latencyMs ?? 0);
    server.on('request', (req, res) => {
      void handleRequest(
        { state, creds, faults: sim.faults, requests: sim.requests, logLimit, latencyMs: () => sim.latencyMs },
        req,
        res,
      );
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => sim.upgrade(creds, req, socket, head));
    return sim;
  }

  // --- calls

  /** A caller enters Stasis(app) from the dialplan (StasisStart, state Ring). Throws when the app has no WebSocket. */
  placeCall(opts?: PlaceCallOptions): CallRecord {
    return placeCall(this.state, opts);
  }

  /** The caller hangs up: ChannelHangupRequest (cause 0), [BRIDGEPEER + ChannelLeftBridge], StasisEnd. */
  hangup(channelId: string): void {
    hangupFromFarEnd(this.state, channelId);
  }

  runLoad(opts: LoadOptions): Promise<CallRecord[]> {
    return runLoad(
      {
        placeCall: (o) => this.placeCall(o),
        hangup: (id) => this.hangup(id),
        onCallEnded: (fn) => {
          this.state.callEndListeners.add(fn);
          return () => this.state.callEndListeners.delete(fn);
        },
        later: (ms, fn) => this.state.later(ms, fn),
      },
      opts,
    );
  }

  // --- state

  channels(): Channel[] {
    return [...this.state.channels.values()].map((c) => channelJson(c));
  }

  bridges(): Bridge[] {
    return [...this.state.bridges.values()].map(bridgeJson);
  }

  async waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  connections(app?: string): number {
    return this.sockets.connections(app);
  }

  /** How many requests crashed the simulated Asterisk (a channelId in use, f(xml)): tests assert 0. */
  get crashes(): number {
    return this.crashLog.length;
  }

  /** True while a client-mode media connection holds up channel creation (see mediaStalls). */
  mediaStalled(): boolean {
    return this.state.websocket.stall.stalled;
  }

  /** Server mode: where a media server connects, e.g. `ws://127.0.0.1:<port>/media/<connection id>`. */
  mediaUrl(connectionId: string): string {
    return `ws://${this.host}:${this.port}/media/${connectionId}`;
  }

  // --- faults

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** `path` is tested against the raw request path, e.g. `/ari/channels/123/answer`. */
  failNext(match: FaultMatch, response: FaultResponse, times = 1): void {
    this.faults.add(match, response, times);
  }

  dropWebSockets(): void {
    this.sockets.dropAll();
  }

  /** Closes every WebSocket cleanly (close frame, default 1001 "going away"), as a stopping Asterisk does. */
  closeWebSockets(code = 1001, reason = 'shutting down'): void {
    this.sockets.closeAll(code, reason);
  }

  sendRaw(app: string, data: string): void {
    this.sockets.sendRaw(app, data);
  }

  setPongs(enabled: boolean): void {
    this.sockets.setPongs(enabled);
  }

  on(event: 'event', fn: (app: string, event: AriEvent) => void): this {
    if (event === 'event') this.sockets.listeners.push(fn);
    return this;
  }

  // --- lifecycle

  async stop(): Promise<void> {
    for (const timer of this.state.timers) clearTimeout(timer);
    this.state.timers.clear();
    this.state.websocket.stop();
    for (const ch of this.state.channels.values()) closeMedia(ch);
    this.sockets.dropAll();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(creds: Credentials, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { rawPath, search } = splitUrl(req.url ?? '/');
    const reject = (status: number, reason: string, body: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    if (rawPath.startsWith('/media/')) return this.state.websocket.acceptUpgrade(req, socket, head, rawPath);
    if (rawPath !== '/ari/events') return reject(404, 'Not Found', JSON.stringify({ message: 'Resource not found' }));
    if (!isAuthorized(req, search, creds)) return reject(401, 'Unauthorized', AUTH_REQUIRED_BODY);
    const apps = (search.get('app') ?? '').split(',').filter((a) => a !== '');
    if (apps.length === 0) return reject(400, 'Bad Request', JSON.stringify({ message: 'Missing param app' }));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.sockets.attach(ws, apps));
  }
}
