/**
 * The ARI WebSocket (`/events?app=<app>`): connects with Basic auth in a header, pings to find
 * half-open connections, and reconnects forever with capped, jittered backoff. It knows nothing
 * about NATS: frames and state changes go to the handlers it is given.
 */
import WebSocket from 'ws';
import type { Logger } from '@avb/runtime';
import { backoffDelay, type BackoffOptions } from './backoff.js';

export type SocketState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface AriSocketOptions {
  /** ws:// or wss:// URL of `/events` with its query; carries no credentials. */
  url: string;
  /** Logged instead of `url`. */
  safeUrl: string;
  authorization: string;
  pingIntervalMs: number;
  handshakeTimeoutMs: number;
  backoff: BackoffOptions;
  /** The backoff restarts from its first step only after a connection stayed up this long. */
  stableAfterMs: number;
  onFrame(data: Buffer): void;
  onState(state: SocketState, reason?: string): void;
  /** Called for each connection attempt after the first one. */
  onReconnect(): void;
  log: Logger;
}

export interface AriSocket {
  /** Closes the socket and stops reconnecting. */
  stop(): Promise<void>;
}

/** Normal closure, sent when we stop. */
const CLOSE_NORMAL = 1000;
const STOP_WAIT_MS = 2000;

export function startAriSocket(opts: AriSocketOptions): AriSocket {
  const { log } = opts;
  let ws: WebSocket | undefined;
  let stopped = false;
  let attempts = 0;
  let firstAttempt = true;
  let retryTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let stableTimer: NodeJS.Timeout | undefined;

  const clearConnectionTimers = () => {
    clearInterval(pingTimer);
    clearTimeout(stableTimer);
    pingTimer = undefined;
    stableTimer = undefined;
  };

  const scheduleRetry = () => {
    if (stopped) return;
    const delayMs = backoffDelay(attempts, opts.backoff);
    attempts += 1;
    log.debug({ delayMs, attempt: attempts }, 'ARI reconnect scheduled');
    retryTimer = setTimeout(connect, delayMs);
  };

  function connect() {
    retryTimer = undefined;
    if (stopped) return;
    if (!firstAttempt) opts.onReconnect();
    firstAttempt = false;
    opts.onState('connecting');
    log.debug({ url: opts.safeUrl }, 'opening ARI WebSocket');

    const socket = new WebSocket(opts.url, {
      headers: { Authorization: opts.authorization },
      handshakeTimeout: opts.handshakeTimeoutMs,
      perMessageDeflate: false,
    });
    ws = socket;
    let opened = false;
    let lastError: string | undefined;
    let closeReason: string | undefined;

    socket.on('open', () => {
      opened = true;
      opts.onState('connected');
      let awaitingPong = false;
      socket.on('pong', () => {
        awaitingPong = false;
      });
      pingTimer = setInterval(() => {
        if (awaitingPong) {
          // No pong since the last tick: the peer (or the path to it) is gone without a FIN.
          closeReason = 'ping timeout';
          socket.terminate();
          return;
        }
        awaitingPong = true;
        socket.ping();
      }, opts.pingIntervalMs);
      stableTimer = setTimeout(() => {
        attempts = 0;
      }, opts.stableAfterMs);
    });

    socket.on('message', (data: WebSocket.RawData) => {
      // The default binaryType is 'nodebuffer', so every frame arrives as one Buffer.
      if (Buffer.isBuffer(data)) opts.onFrame(data);
    });

    socket.on('error', (err: Error) => {
      // Only the message: the error object of a failed upgrade may reference the request.
      lastError = err.message;
    });

    socket.on('close', (code: number) => {
      clearConnectionTimers();
      if (ws === socket) ws = undefined;
      if (stopped) return;
      const reason = closeReason ?? lastError ?? `closed with code ${code}`;
      opts.onState('disconnected', opened ? reason : `connect failed: ${reason}`);
      scheduleRetry();
    });
  }

  connect();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(retryTimer);
      clearConnectionTimers();
      const socket = ws;
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_NORMAL, 'gateway stopping');
        else socket.terminate();
        // A peer that never answers the close frame must not hold up shutdown.
        const timer = setTimeout(() => socket.terminate(), STOP_WAIT_MS);
        await closed;
        clearTimeout(timer);
      }
      opts.onState('stopped');
    },
  };
}
