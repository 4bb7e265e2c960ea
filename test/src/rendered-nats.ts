/**
 * Runs nats-server on a config rendered by docker/nats/entrypoint.sh (see compose-files.ts), on
 * loopback: JetStream stored in the render dir, the client port a free one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'nats';
import { natsServerBinary } from './harness/nats-server.js';
import { reapOnExit } from './harness/reaper.js';
import { freePort, waitUntil } from './harness/util.js';

export interface Server {
  url: string;
  stop(): Promise<void>;
}

/** Runs nats-server on a rendered nats.conf, JetStream stored in the render dir. */
export async function startOn(conf: string, dir: string, env: Record<string, string> = {}, port?: number): Promise<Server> {
  assert.match(conf, /store_dir: "\/data\/jetstream"/);
  const file = join(dir, 'run.conf');
  await writeFile(file, conf.replace('/data/jetstream', join(dir, 'js')));
  port ??= await freePort();
  const proc = spawn(natsServerBinary(), ['-c', file, '-a', '127.0.0.1', '-p', String(port), '-m', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  reapOnExit(proc);
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `nats://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(async () => {
      if (proc.exitCode !== null) throw new Error(`nats-server refused the config: ${stderr.trim()}`);
      return connect({ servers: url, reconnect: false }).then((nc) => nc.close().then(() => true), (err: Error) => /Authorization/i.test(err.message));
    }, 10_000, 'nats-server on the rendered nats.conf');
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

