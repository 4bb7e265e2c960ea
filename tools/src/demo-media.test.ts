import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerConfig, parseConfig } from '@avb/contracts';
import { demoMedia } from './demo-media.js';

describe('demoMedia', () => {
  const ports = { media: 4000, sim: 5000 };
  it('gives every mode a controller config that parses, and the echo server it needs', () => {
    for (const kind of ['audiosocket', 'websocket-client', 'websocket-server'] as const) {
      const m = demoMedia(kind, ports, 'ai_app');
      const parsed = parseConfig(ControllerConfig, m.controllerEnv);
      assert.ok(parsed.ok, `${kind}: ${parsed.ok ? '' : parsed.problems.join('; ')}`);
      assert.equal(m.echo.name, kind === 'audiosocket' ? 'audiosocket-echo' : 'websocket-echo');
      assert.equal(m.connector !== undefined, kind === 'websocket-server');
    }
  });
  it('wires client mode through one websocket_client, server mode through the simulator\'s /media', () => {
    const client = demoMedia('websocket-client', ports, 'ai_app');
    assert.equal(client.simEnv.SIM_WEBSOCKET_CLIENTS, `${client.controllerEnv.EXTERNAL_MEDIA_WEBSOCKET_CLIENT}=ws://127.0.0.1:4000/media`);
    const server = demoMedia('websocket-server', ports, 'ai_app');
    assert.equal(server.controllerEnv.EXTERNAL_MEDIA_WEBSOCKET_URL, 'ws://127.0.0.1:5000/media');
    assert.equal(server.connector?.env.MEDIA_CONNECT_URL, 'http://127.0.0.1:4000/connect');
  });
});
