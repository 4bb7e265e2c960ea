// The two WebSocket handshakes of chan_websocket, byte for byte as recorded on 22.10.1: Asterisk's
// HTTP server answering GET /media/<id> (101, or its 400/404/409 pages), and Asterisk dialing a
// websocket_client URI (its header order, its key pattern) and reading the server's answer.

import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const SERVER = 'Asterisk/22.10.1';

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

function httpPage(status: number, title: string, text: string): string {
  return (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n' +
    `<title>${status} ${title}</title>\r\n</head><body>\r\n<h1>${title}</h1>\r\n<p>${text}</p>\r\n<hr />\r\n` +
    `<address>${SERVER}</address>\r\n</body></html>\r\n`
  );
}

export const MediaUpgradeRejection = {
  /** Unknown, empty or expired connection id. */
  notFound: { status: 404, reason: 'Not found', page: httpPage(404, 'Not found', 'WebSocket instance not found') },
  /** A second connection for a connection id already connected. */
  conflict: {
    status: 409,
    reason: 'Conflict',
    page: httpPage(409, 'Conflict', 'Another websocket connection exists for this connection id'),
  },
  /** A subprotocol other than `media` (res_http_websocket: empty body, its versions). */
  badRequest: { status: 400, reason: 'Bad Request', page: undefined },
} as const;
export type MediaUpgradeRejection = (typeof MediaUpgradeRejection)[keyof typeof MediaUpgradeRejection];

export function writeRejection(socket: Duplex, rejection: MediaUpgradeRejection): void {
  const common = `Server: ${SERVER}\r\nDate: ${new Date().toUTCString()}\r\nCache-Control: no-cache, no-store\r\n`;
  const head =
    rejection.page === undefined
      ? `${common}Sec-WebSocket-Version: 7, 8, 13\r\nContent-Length: 0\r\n`
      : `${common}Content-type: text/html\r\nContent-Length: ${Buffer.byteLength(rejection.page)}\r\n`;
  socket.end(`HTTP/1.1 ${rejection.status} ${rejection.reason}\r\n${head}\r\n${rejection.page ?? ''}`);
}

/** The client's key and requested subprotocols; undefined when it is not a version 13 upgrade. */
export function readUpgrade(req: IncomingMessage): { key: string; protocols: string[] | undefined } | undefined {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') return undefined;
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return undefined;
  const protocol = req.headers['sec-websocket-protocol'];
  const protocols = protocol === undefined ? undefined : protocol.split(',').map((p) => p.trim());
  return { key, protocols };
}

export function writeSwitchingProtocols(socket: Duplex, key: string, protocol: string | undefined): void {
  const proto = protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${proto}\r\n`,
  );
}

/** Asterisk's keys have four random bytes, four zero bytes, four random, four zero. */
export function asteriskClientKey(): string {
  const key = Buffer.alloc(16);
  randomBytes(4).copy(key, 0);
  randomBytes(4).copy(key, 8);
  return key.toString('base64');
}

/** The upgrade request in the recorded header order (no Origin, User-Agent or auth). */
export function clientRequest(url: URL, protocols: string, key: string): string {
  const port = url.port === '' ? '80' : url.port;
  const proto = protocols === '' ? '' : `Sec-WebSocket-Protocol: ${protocols}\r\n`;
  return (
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nHost: ${url.hostname}:${port}\r\n${proto}Sec-WebSocket-Key: ${key}\r\n\r\n`
  );
}

export interface HandshakeResponse {
  status: number;
  headers: Map<string, string>;
  /** Bytes after the header block: the first WebSocket frames, if the server sent any at once. */
  rest: Buffer;
}

/** Reads the response head; rejects if the connection ends first (no timeout: Asterisk has none). */
export function readResponseHead(socket: Socket): Promise<HandshakeResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('connection closed during the handshake'));
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 16384) onClose();
        return;
      }
      cleanup();
      socket.pause();
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ status, headers, rest: Buffer.from(buf.subarray(end + 4)) });
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
