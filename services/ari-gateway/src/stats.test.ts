import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayStatsData } from '@avb/contracts';
import { createGatewayStats } from './stats.js';

describe('gateway stats', () => {
  it('keeps ARI latency histograms per command and outcome, in the contract shape', () => {
    const stats = createGatewayStats();
    stats.commandDone('channels.answer', 'ok', 3);
    stats.commandDone('channels.answer', 'ok', 40);
    stats.commandDone('channels.answer', 'not_found', 7);
    stats.commandDone('channels.answer', 'bad_request');
    const c = stats.snapshot().commands['channels.answer']!;
    assert.equal(c.ok, 2);
    assert.deepEqual(c.codes, { not_found: 1, bad_request: 1 });
    assert.equal(c.latencyMs.ok?.count, 2);
    assert.equal(c.latencyMs.ok?.sum, 43);
    assert.equal(c.latencyMs.ok?.buckets['5'], 1);
    assert.equal(c.latencyMs.ok?.buckets['50'], 2);
    assert.equal(c.latencyMs.ok?.buckets['+Inf'], 2);
    assert.equal(c.latencyMs.not_found?.buckets['10'], 1);
    assert.equal(c.latencyMs.bad_request, undefined, 'refused before ARI: no latency');
    const data = { app: 'a', node: 'n', instance: 'i', ari: { state: 'connected', since: new Date().toISOString() }, ...stats.snapshot() };
    assert.ok(GatewayStatsData.safeParse(data).success);
  });
});
