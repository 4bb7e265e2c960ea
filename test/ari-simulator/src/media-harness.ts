// Test helpers for chan_websocket: a bare media client (the `ws` package, so the simulator's own
// framing is checked against another implementation), raw upgrade attempts, waits on events.

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AriSimulator } from './ari-simulator.js';
import { ari, type EventClient, type Ev } from './harness.js';
import { parseTransportData } from './websocket-params.js';

export async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** externalMedia query for server mode (as recorded); override or blank out fields. */
export function serverParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    app: 'ai_app',
    transport: 'websocket',
    encapsulation: 'none',
    external_host: 'INCOMING',
    connection_type: 'server',
    format: 'slin16',
    ...overrides,
  };
}

export function clientParams(clientId: string, overrides: Record<string, string> = {}): Record<string, string> {
  return serverParams({ external_host: clientId, connection_type: 'client', ...overrides });
}

export async function waitForEvent(client: EventClient, pred: (e: Ev) => boolean, what: string, timeoutMs = 3000): Promise<Ev> {
  await until(() => client.events.some(pred), what, timeoutMs);
  return client.events.find(pred) as Ev;
}

/** The events about one channel (event.channel or Dial's peer), from `from` on. */
export function eventsOf(client: EventClient, channelId: string, from = 0): Ev[] {
  return client.events.slice(from).filter((e) => {
    const ch = (e.channel ?? e.peer) as { id?: string } | undefined;
    return ch?.id === channelId;
  });
}

/** A media server written with `ws`: every frame received, with its arrival time. */
export class MediaClient {
  readonly texts: string[] = [];
  readonly frames: Array<{ at: number; data: Buffer }> = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.frames.push({ at: performance.now(), data: buf });
      else this.texts.push(buf.toString('utf8'));
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static connect(url: string, protocol: string | null = 'media'): Promise<MediaClient> {
    const ws = new WebSocket(url, protocol === null ? [] : [protocol], { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new MediaClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Wraps a socket a test server accepted (client mode). */
  static wrap(ws: WebSocket): MediaClient {
    return new MediaClient(ws);
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  async nextText(pred: (t: string) => boolean = () => true, what = 'a text frame'): Promise<string> {
    await until(() => this.texts.some(pred), what);
    return this.texts.find(pred) as string;
  }
}

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A WebSocket upgrade attempt that reports a refusal's status, headers and body. */
export function tryUpgrade(url: string, protocol: string | null): Promise<UpgradeAnswer> {
  const u = new URL(url);
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  };
  if (protocol !== null) headers['Sec-WebSocket-Protocol'] = protocol;
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A caller answered plus a server-mode media channel whose media server has connected (StasisStart seen). */
export async function connectedServerCall(
  sim: AriSimulator,
  client: EventClient,
  overrides: Record<string, string> = {},
): Promise<{ callerId: string; mediaId: string; connectionId: string; media: MediaClient; data: string }> {
  const call = sim.placeCall();
  await waitForEvent(client, (e) => e.type === 'StasisStart' && (e.channel as { id: string }).id === call.channelId, 'caller StasisStart');
  await ari(sim, 'POST', `/channels/${call.channelId}/answer`);
  const data = `data-${call.channelId}`;
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId: `m-${call.channelId}`, data, ...overrides }));
  if (res.status !== 200) throw new Error(`externalMedia answered ${res.status}`);
  const body = res.body as { id: string; channelvars: Record<string, string> };
  const connectionId = body.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  const media = await MediaClient.connect(sim.mediaUrl(connectionId));
  await media.nextText((t) => t.includes('MEDIA_START'), 'MEDIA_START');
  if (!parseTransportData(overrides.transport_data ?? '').has('n')) {
    await waitForEvent(client, (e) => e.type === 'StasisStart' && (e.channel as { id: string }).id === body.id, 'media StasisStart');
  }
  return { callerId: call.channelId, mediaId: body.id, connectionId, media, data };
}

/** Puts the caller and the media channel in a new mixing bridge. */
export async function bridge(sim: AriSimulator, id: string, channels: string[]): Promise<void> {
  await ari(sim, 'POST', `/bridges/${id}`, { type: 'mixing' });
  const res = await ari(sim, 'POST', `/bridges/${id}/addChannel`, { channel: channels.join(',') });
  if (res.status !== 204) throw new Error(`addChannel answered ${res.status}`);
}

/** One upgrade request as a client-mode media server sees it. */
export interface SeenUpgrade {
  at: number;
  url: string;
  rawHeaders: string[];
}

/**
 * A client-mode media server for tests: records each upgrade request verbatim, then accepts it
 * (subprotocol media), refuses it with `rejectStatus`, or never answers (`silent`).
 */
export class TestMediaServer {
  readonly upgrades: SeenUpgrade[] = [];
  readonly clients: MediaClient[] = [];
  rejectStatus: number | undefined;
  silent = false;
  private readonly held = new Set<Duplex>();

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  static async start(): Promise<TestMediaServer> {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (p) => (p.has('media') ? 'media' : false) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const media = new TestMediaServer(server, wss, port);
    server.on('upgrade', (req, socket, head) => {
      media.upgrades.push({ at: performance.now(), url: req.url ?? '', rawHeaders: req.rawHeaders });
      if (media.silent) {
        media.held.add(socket);
        socket.on('close', () => media.held.delete(socket));
        return;
      }
      if (media.rejectStatus !== undefined) {
        socket.end(`HTTP/1.1 ${media.rejectStatus} Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => media.clients.push(MediaClient.wrap(ws)));
    });
    return media;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/media`;
  }

  /** Closes the connections held by `silent` (the app giving up on them). */
  dropHeld(): void {
    for (const socket of this.held) socket.destroy();
  }

  async stop(): Promise<void> {
    this.dropHeld();
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
