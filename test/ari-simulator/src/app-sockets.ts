// The event WebSockets: one current socket per app (a newer one replaces it), frame logging,
// and the socket-level faults (drop without close frame, raw frames, ignored pings).

import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { pushCapped } from './capped-log.js';
import { applicationReplaced } from './event-builders.js';
import type { AriEvent, FrameLogEntry } from './types.js';

export type EventListener = (app: string, event: AriEvent) => void;

export class AppSockets {
  readonly sentFrames: FrameLogEntry[] = [];
  readonly listeners: EventListener[] = [];
  private readonly current = new Map<string, WebSocket>();
  private readonly open = new Map<WebSocket, string[]>();
  private pongs = true;

  constructor(
    private readonly asteriskId: string,
    private readonly logLimit: number,
  ) {}

  attach(ws: WebSocket, apps: string[]): void {
    this.open.set(ws, apps);
    // autoPong is off on the server so that setPongs(false) can simulate a half-open link.
    ws.on('ping', (data) => {
      if (this.pongs && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      this.open.delete(ws);
      for (const app of apps) if (this.current.get(app) === ws) this.current.delete(app);
    });
    for (const app of apps) {
      const previous = this.current.get(app);
      if (previous !== undefined && previous !== ws) this.sendOn(previous, app, applicationReplaced(app, this.asteriskId));
      this.current.set(app, ws);
    }
  }

  isActive(app: string): boolean {
    return this.current.get(app)?.readyState === WebSocket.OPEN;
  }

  /** Sends to the app's current socket; events for an app without one are dropped, as Asterisk does. */
  send(app: string, event: AriEvent): void {
    const ws = this.current.get(app);
    if (ws !== undefined) this.sendOn(ws, app, event);
  }

  sendRaw(app: string, data: string): void {
    const ws = this.current.get(app);
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) throw new Error(`no WebSocket connected for app '${app}'`);
    ws.send(data);
    pushCapped(this.sentFrames, { app, data, at: performance.now() }, this.logLimit);
  }

  connections(app?: string): number {
    if (app === undefined) return this.open.size;
    let n = 0;
    for (const apps of this.open.values()) if (apps.includes(app)) n += 1;
    return n;
  }

  setPongs(enabled: boolean): void {
    this.pongs = enabled;
  }

  /** Like a crashed Asterisk: TCP reset, no close frame. */
  dropAll(): void {
    for (const ws of [...this.open.keys()]) ws.terminate();
  }

  private sendOn(ws: WebSocket, app: string, event: AriEvent): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    const data = JSON.stringify(event);
    ws.send(data);
    pushCapped(this.sentFrames, { app, data, at: performance.now() }, this.logLimit);
    for (const fn of this.listeners) fn(app, event);
  }
}
