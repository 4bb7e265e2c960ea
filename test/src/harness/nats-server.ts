/**
 * Spawns a private nats-server on a free loopback port for one test suite (never the one that
 * may already listen on 4222). Fails loudly when the binary is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOnExit } from './reaper.js';
import { freePort, waitUntil } from './util.js';
import { createConnection } from 'node:net';
import { after, before } from 'node:test';
import { connect, type NatsConnection } from 'nats';

export interface NatsServer {
  url: string;
  port: number;
  /** The running server's process id (undefined while it is down). */
  readonly pid: number | undefined;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
  /** Deletes its JetStream store (while it is down): the next restart begins with no streams. */
  wipeStore(): Promise<void>;
  stop(): Promise<void>;
}

/** NATS_SERVER_BIN, else Debian's path, else whatever `nats-server` PATH finds. */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const c of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(c)) return c;
  return 'nats-server';
}

export interface NatsServerOptions {
  jetstream?: boolean;
  /** nats-server config file text (authorization, accounts, tls blocks); host and port come from flags. */
  config?: string;
  /** More command-line flags, e.g. `['--user', 'u', '--pass', 'p']`. */
  args?: string[];
  /** The client port (default: a free one). */
  port?: number;
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const port = opts.port ?? await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'avb-nats-'));
  const jsDir = join(storeDir, 'js');
  let child: ChildProcess | undefined;
  const configFile = join(storeDir, 'nats.conf');
  if (opts.config !== undefined) await writeFile(configFile, opts.config);

  const launch = async () => {
    const args = ['-a', '127.0.0.1', '-p', String(port), '--http_port', '0'];
    if (opts.config !== undefined) args.push('-c', configFile);
    // JetStream is on unless a test asks for core NATS only: the services need it.
    if (opts.jetstream !== false) args.push('-js', '-sd', jsDir);
    if (opts.args) args.push(...opts.args);
    const proc = spawn(natsServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    reapOnExit(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) => reject(new Error(`cannot start nats-server (${natsServerBinary()}): ${err.message}. Install it: apt-get install -y nats-server`))),
    );
    try {
      await Promise.race([spawnError, waitUntil(() => canConnect(port), 10_000, `nats-server on ${port}`)]);
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`);
    }
    child = proc;
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: launch,
    async wipeStore() {
      await rm(jsDir, { recursive: true, force: true });
    },
    async stop() {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * For a test file that needs only NATS: a JetStream nats-server started before its tests and a
 * connection to it, handed to `use`; both closed after them.
 */
export function natsForFile(use: (nc: NatsConnection) => void): void {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  before(async () => {
    server = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: server.url });
    use(nc);
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });
}
