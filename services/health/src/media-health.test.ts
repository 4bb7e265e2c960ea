/** /health and /metrics with a controller whose media path is degraded (issue 14). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerStatsData, GatewayStatsData } from '@avb/contracts';
import type { Answer, Snapshot } from './discovery.js';
import { buildReport } from './health-report.js';
import { viewInstances } from './instance-view.js';
import { renderMetrics } from './metrics.js';

const gw: Answer<GatewayStatsData> = {
  id: 'g', version: '0.1.0', started: new Date(0).toISOString(), metadata: { node: 'pbx1' },
  data: GatewayStatsData.parse({ node: 'pbx1', ari: { state: 'connected', since: '2026-01-01T00:00:00.000Z' } }),
};
const cc = (id: string, media?: Record<string, unknown>): Answer<ControllerStatsData> => ({
  id, version: '0.1.0', started: new Date(0).toISOString(), metadata: {},
  data: ControllerStatsData.parse({ instance: `cc-${id}`, ...(media ? { media } : {}) }),
});
const snap = (controllers: Answer<ControllerStatsData>[]): Snapshot => ({ at: 10_000, natsConnected: true, gateways: [gw], controllers });
const report = (s: Snapshot) => buildReport(s, viewInstances(s), []);

const DEGRADED = {
  transport: 'websocket', connection: 'client', state: 'degraded', since: '2026-01-01T00:00:05.000Z',
  reason: '2 media channel(s) waited for longer than 2000 ms', slow: 2, timeouts: 1, secret: 'not echoed',
};

describe('a degraded media path', () => {
  it('makes /health degraded, naming the controller, the transport and why', () => {
    const r = report(snap([cc('a', DEGRADED), cc('b', { transport: 'websocket', connection: 'client', state: 'ok' })]));
    assert.equal(r.status, 'degraded');
    assert.deepEqual(r.problems, ['call-controller cc-a: media path degraded (websocket client) since 2026-01-01T00:00:05.000Z: 2 media channel(s) waited for longer than 2000 ms']);
    const a = r.instances.find((i) => i.instance === 'cc-a')!;
    assert.deepEqual(a.media, { state: 'degraded', transport: 'websocket', connection: 'client', since: DEGRADED.since, reason: DEGRADED.reason });
    assert.ok(!JSON.stringify(r).includes('not echoed'), 'only chosen fields reach /health');
  });

  it('leaves /health ok when every media path is, and with controllers that do not report one', () => {
    assert.equal(report(snap([cc('a', { transport: 'tcp', state: 'ok' }), cc('b')])).status, 'ok');
  });

  it('is in /metrics per transport', async () => {
    const text = await renderMetrics(snap([cc('a', DEGRADED), cc('b', { transport: 'websocket', connection: 'client', state: 'ok', slow: 1 })]));
    assert.match(text, /^avb_controller_media_path_degraded\{transport="websocket_client"\} 1$/m);
    assert.match(text, /^avb_controller_media_slow_total\{transport="websocket_client"\} 3$/m);
    assert.match(text, /^avb_controller_media_timeouts_total\{transport="websocket_client"\} 1$/m);
    assert.match(text, /^# TYPE avb_controller_media_path_degraded gauge$/m);
  });
});
