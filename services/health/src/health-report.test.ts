import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport } from './health-report.js';

const instance = (service: string, id: string) => ({ service, id, version: '0.1.0', metadata: {} });

describe('buildReport', () => {
  it('is ok only with NATS, a gateway and a controller', () => {
    assert.equal(buildReport(true, [instance('ari-gateway', 'a'), instance('call-controller', 'b')]).status, 'ok');
    const degraded = buildReport(true, [instance('ari-gateway', 'a')]);
    assert.equal(degraded.status, 'degraded');
    assert.deepEqual(degraded.problems, ['no call-controller instance answers']);
    assert.equal(buildReport(false, []).status, 'down');
  });
});
