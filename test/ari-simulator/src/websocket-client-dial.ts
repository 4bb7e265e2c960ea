// Client mode: Asterisk dialing a websocket_client URI for one channel. Four tries 500 ms apart
// (server-down.json, server-rejects-upgrade.json), and no handshake timeout: a server that
// accepts TCP and never answers keeps a try open until it closes (server-silent.json).

import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptKey, asteriskClientKey, clientRequest, readResponseHead } from './ws-handshake.js';

export const CONNECT_TRIES = 4;

export interface DialOptions {
  url: URL;
  protocols: string;
  retryMs: number;
  signal: AbortSignal;
  /** Called before each try with the URL dialed. */
  onTry(url: string): void;
}

export interface Dialed {
  socket: Socket;
  /** Frames that arrived with the 101 response. */
  head: Buffer;
}

/** Resolves with the upgraded socket, or undefined after the last failed try (or on abort). */
export async function dialWebSocket(opts: DialOptions): Promise<Dialed | undefined> {
  for (let attempt = 1; attempt <= CONNECT_TRIES; attempt += 1) {
    if (opts.signal.aborted) return undefined;
    opts.onTry(opts.url.href);
    const dialed = await tryOnce(opts.url, opts.protocols, opts.signal);
    if (dialed !== undefined) return dialed;
    if (attempt === CONNECT_TRIES) break;
    try {
      await sleep(opts.retryMs, undefined, { signal: opts.signal });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function tryOnce(url: URL, protocols: string, signal: AbortSignal): Promise<Dialed | undefined> {
  if (url.protocol !== 'ws:') return undefined;
  const socket = connect({ host: url.hostname, port: url.port === '' ? 80 : Number(url.port) });
  const abort = () => socket.destroy();
  signal.addEventListener('abort', abort, { once: true });
  socket.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('close', () => reject(new Error('connect failed')));
    });
    socket.setNoDelay(true);
    const key = asteriskClientKey();
    socket.write(clientRequest(url, protocols, key));
    const res = await readResponseHead(socket);
    const protocolOk = protocols === '' || protocols.split(',').map((p) => p.trim()).includes(res.headers.get('sec-websocket-protocol') ?? '');
    if (res.status !== 101 || res.headers.get('sec-websocket-accept') !== acceptKey(key) || !protocolOk) {
      socket.destroy();
      return undefined;
    }
    socket.removeAllListeners('close');
    return { socket, head: res.rest };
  } catch {
    socket.destroy();
    return undefined;
  } finally {
    signal.removeEventListener('abort', abort);
  }
}
