/**
 * Every service's start and stop through the shared lifecycle (issue 15, defect 11), as real
 * processes: refused NATS credentials are one fatal line and exit 1 (no stack, no retrying
 * forever), and a stop signal while a service still waits for JetStream drains and exits 0.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { logMsg, startService, type ServiceName, type ServiceProcess } from './harness/services.js';
import { freePort } from './harness/util.js';

const PASSWORD = 'right-pw-8842';
const WRONG = 'wrong-pw-1137';

const exitOf = (p: ServiceProcess, ms: number) =>
  Promise.race([p.exited, new Promise<string>((r) => setTimeout(() => r('still running'), ms))]);

describe('service lifecycle', () => {
  const servers: NatsServer[] = [];
  const processes: ServiceProcess[] = [];
  after(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL', 1000)));
    await Promise.all(servers.map((s) => s.stop()));
  });

  for (const service of ['ari-gateway', 'call-controller', 'health'] as ServiceName[]) {
    it(`${service}: a wrong NATS password is one fatal line without a stack, and exit 1`, async () => {
      const nats = await startNatsServer({ config: `authorization { users = [ { user: svc, password: "${PASSWORD}" } ] }\n` });
      servers.push(nats);
      const p = startService(service, {
        NATS_URL: nats.url, NATS_USER: 'svc', NATS_PASSWORD: WRONG, LOG_LEVEL: 'info',
        ARI_BASE_URL: 'http://127.0.0.1:9/ari', HEALTH_PORT: String(await freePort()), HEALTH_HOST: '127.0.0.1',
      });
      processes.push(p);
      assert.equal(await exitOf(p, 10_000), 1);
      const fatal = p.lines.filter((l) => l.json?.level === 60);
      assert.equal(fatal.length, 1, `one fatal line: ${p.lines.map((l) => l.raw).join('\n')}`);
      assert.equal(fatal[0]!.json?.msg, 'cannot connect to NATS');
      assert.match(String(fatal[0]!.json?.reason), /authorization violation/);
      for (const l of p.lines) {
        assert.ok(l.json !== undefined && !/^\s+at |"stack"/.test(l.raw), `only log lines, no stack: ${l.raw}`);
        assert.ok(!l.raw.includes(WRONG) && !l.raw.includes(PASSWORD), `no secret: ${l.raw}`);
      }
    });
  }

  it('call-controller: SIGTERM while it waits for JetStream (NATS without -js) drains and exits 0', async () => {
    const nats = await startNatsServer({ jetstream: false });
    servers.push(nats);
    const p = startService('call-controller', { NATS_URL: nats.url, LOG_LEVEL: 'debug' });
    processes.push(p);
    await p.waitForLog((l) => typeof l.json?.msg === 'string' && l.json.msg.startsWith('waiting for JetStream'), 10_000, 'waiting for JetStream');
    // One quiet line while it waits: no warning, no stack.
    assert.equal(p.lines.filter((l) => typeof l.json?.level === 'number' && l.json.level >= 40).length, 0, p.lines.map((l) => l.raw).join('\n'));
    assert.equal(await p.stop('SIGTERM', 5000), 0);
    assert.ok(p.lines.some(logMsg('stopped')), 'stopped cleanly');
  });
});
