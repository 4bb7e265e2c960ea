// Test helpers: a real `ws` event client and a fetch wrapper with ARI basic auth.

import { WebSocket } from 'ws';
import type { AriSimulator } from './ari-simulator.js';

export const AUTH = `Basic ${Buffer.from('asterisk:asterisk').toString('base64')}`;

export interface AriReply {
  status: number;
  body: unknown;
  contentType: string | null;
}

export async function ari(
  sim: AriSimulator,
  method: string,
  path: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = { authorization: AUTH },
): Promise<AriReply> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${sim.baseUrl}${path}${qs === '' ? '' : `?${qs}`}`, { method, headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown), contentType: res.headers.get('content-type') };
}

export type Ev = Record<string, unknown> & { type: string };

export class EventClient {
  readonly events: Ev[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      // sendRaw() tests push garbage on purpose; only well-formed events are collected.
      try {
        this.events.push(JSON.parse(data.toString('utf8')) as Ev);
      } catch {
        /* not an event */
      }
    });
  }

  static connect(sim: AriSimulator, app = 'ai_app'): Promise<EventClient> {
    const ws = new WebSocket(`${sim.wsUrl}?app=${app}`, { headers: { authorization: AUTH } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new EventClient(ws)));
      ws.once('error', reject);
    });
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  async waitForCount(n: number, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} events, got ${this.events.length}: ${this.types().join(',')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

export function channelOf(ev: Ev): Record<string, unknown> {
  return ev.channel as Record<string, unknown>;
}
