/** The health placeholder: /health/live, and /health from NATS discovery of the instances. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { startStack, type Stack, ARI_PASSWORD } from './harness/stack.js';
import { freePort, waitUntil } from './harness/util.js';

describe('health', () => {
  let stack: Stack;
  let health: ServiceProcess;
  let url: string;

  before(async () => {
    stack = await startStack({ controllers: 1 });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    health = startService('health', { NATS_URL: stack.nats.url, HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1' });
    await health.waitForLog(logMsg('ready'), 10_000, 'health ready');
  });
  after(async () => {
    await health?.stop();
    await stack?.stop();
  });

  it('is live', async () => {
    const res = await fetch(`${url}/health/live`);
    assert.equal(res.status, 200);
  });

  it('is ok with a gateway and a controller, and lists them', async () => {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as { status: string; instances: Array<{ service: string }> };
    assert.equal(res.status, 200);
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.instances.map((i) => i.service).sort(), ['ari-gateway', 'call-controller']);
    assert.ok(!JSON.stringify(body).includes(ARI_PASSWORD));
  });

  it('turns degraded when the controller stops', async () => {
    await stack.controllers[0]!.stop();
    let last: { status: string; problems: string[] } | undefined;
    await waitUntil(async () => {
      const res = await fetch(`${url}/health`);
      last = (await res.json()) as typeof last;
      return res.status === 503;
    }, 5000, '/health 503');
    assert.equal(last?.status, 'degraded');
    assert.deepEqual(last?.problems, ['no call-controller instance answers']);
  });
});
