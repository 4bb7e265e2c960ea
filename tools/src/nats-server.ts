/** Finds or starts the NATS the demo runs on: a reachable NATS_URL as it is, else a nats-server with JetStream. */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The binary on PATH, else where Debian and others put it (/usr/sbin is not on every PATH). */
export function findNatsServer(path: string, explicit?: string): string | undefined {
  if (explicit) return explicit;
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when a TCP connection to host:port opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** host and port of the first server in a NATS_URL (`nats://host:port`, `host:port`). */
export function natsHostPort(url: string): { host: string; port: number } {
  const first = url.split(',')[0]!.trim();
  const parsed = new URL(first.includes('://') ? first : `nats://${first}`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 4222) };
}

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * Spawns nats-server with JetStream on 127.0.0.1:`port` in its own process group, so a signal
 * to the demo's group does not stop it before the services have drained; the demo stops it last.
 */
export function spawnNatsServer(bin: string, port: number, logFd: number): ChildProcess {
  const storeDir = mkdtempSync(join(tmpdir(), 'avb-demo-js-'));
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '-m', '0'], {
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  // The JetStream store is the demo's alone: nothing of it is kept after the server stops.
  proc.once('exit', () => rmSync(storeDir, { recursive: true, force: true }));
  return proc;
}

export interface EnsuredNats {
  url: string;
  /** The nats-server started for the demo; undefined when NATS_URL already answered. */
  proc: ChildProcess | undefined;
}

/** The NATS at `natsUrl` if it answers; else a nats-server of our own (on its port if loopback, else a free one). */
export async function ensureNats(opts: {
  natsUrl: string | undefined;
  bin: string | undefined;
  freePort: () => Promise<number>;
  logFile: string;
}): Promise<EnsuredNats> {
  let port: number;
  if (opts.natsUrl) {
    const { host, port: wanted } = natsHostPort(opts.natsUrl);
    if (await canConnect(host, wanted)) return { url: opts.natsUrl, proc: undefined };
    if (!isLoopback(host)) throw new Error(`NATS_URL ${host}:${wanted} does not answer`);
    port = wanted;
  } else {
    port = await opts.freePort();
  }
  if (!opts.bin) throw new Error('nats-server not found on PATH; install it (Debian/Ubuntu: apt-get install nats-server) or set NATS_URL');
  const fd = openSync(opts.logFile, 'w');
  const proc = spawnNatsServer(opts.bin, port, fd);
  closeSync(fd);
  const spawnError = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`cannot start ${opts.bin}: ${err.message}`))));
  const deadline = Date.now() + 10_000;
  const reachable = (async () => {
    while (!(await canConnect('127.0.0.1', port, 500))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}); see ${opts.logFile}`);
      if (Date.now() > deadline) throw new Error(`nats-server not reachable on ${port} after 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await Promise.race([spawnError, reachable]);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return { url: `nats://127.0.0.1:${port}`, proc };
}
