import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canConnect, ensureNats, findNatsServer, isLoopback, natsHostPort } from './nats-server.js';
import { freePort } from './ports.js';

describe('the demo\'s NATS', () => {
  it('reads host and port from a NATS_URL', () => {
    assert.deepEqual(natsHostPort('nats://user:pw@127.0.0.1:4333,nats://other:4222'), { host: '127.0.0.1', port: 4333 });
    assert.deepEqual(natsHostPort('localhost'), { host: 'localhost', port: 4222 });
    assert.ok(isLoopback('127.0.0.1') && isLoopback('localhost') && !isLoopback('nats'));
  });

  it('finds nats-server on PATH before the usual directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avb-bin-'));
    try {
      writeFileSync(join(dir, 'nats-server'), '#!/bin/sh\n');
      chmodSync(join(dir, 'nats-server'), 0o755);
      assert.equal(findNatsServer(`${dir}:/nonexistent`), join(dir, 'nats-server'));
      assert.equal(findNatsServer('', '/explicit/nats-server'), '/explicit/nats-server');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses a NATS_URL that answers as it is, without starting anything', async () => {
    const srv = createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const nats = await ensureNats({ natsUrl: `nats://127.0.0.1:${port}`, bin: '/nonexistent', freePort, logFile: '/dev/null' });
      assert.deepEqual(nats, { url: `nats://127.0.0.1:${port}`, proc: undefined });
    } finally {
      srv.close();
    }
  });

  it('starts nats-server on a loopback NATS_URL\'s port when nothing answers there', async () => {
    const bin = findNatsServer(process.env.PATH ?? '', process.env.NATS_SERVER_BIN);
    assert.ok(bin, 'nats-server is needed: apt-get install -y nats-server');
    const port = await freePort();
    const nats = await ensureNats({ natsUrl: `nats://127.0.0.1:${port}`, bin, freePort, logFile: '/dev/null' });
    try {
      assert.equal(nats.url, `nats://127.0.0.1:${port}`);
      assert.ok(nats.proc?.pid);
      assert.ok(await canConnect('127.0.0.1', port));
    } finally {
      const exited = new Promise((r) => nats.proc?.once('exit', r));
      nats.proc?.kill('SIGTERM');
      await exited;
    }
    assert.equal(await canConnect('127.0.0.1', port, 300), false);
  });

  it('refuses a remote NATS_URL that does not answer', async () => {
    await assert.rejects(ensureNats({ natsUrl: 'nats://192.0.2.1:4222', bin: '/x', freePort, logFile: '/dev/null' }), /does not answer/);
  });
});
