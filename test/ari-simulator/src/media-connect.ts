// The AudioSocket client side of externalMedia: Asterisk connects before it replies.

import { connect, type Socket } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port`; undefined when there is no usable port. */
export function parseHostPort(value: string): HostPort | undefined {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const portText = value.slice(colon + 1);
  if (!/^\d+$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  let host = value.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || (host.includes(':') && !value.startsWith('['))) return undefined;
  return { host, port };
}

export function connectMedia(target: HostPort, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`connect to ${target.host}:${target.port} timed out`)), timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
