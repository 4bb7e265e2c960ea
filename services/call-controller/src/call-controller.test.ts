import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallStats } from './call-stats.js';
import { isMediaStasisStart } from './event-decoder.js';

describe('isMediaStasisStart', () => {
  const channel = (id: string) => ({ id, name: 'x', state: 'Up', caller: { name: '', number: '' }, connected: { name: '', number: '' }, accountcode: '', dialplan: { context: 'c', exten: 's', priority: 1 }, creationtime: '', language: 'en' });
  const event = (id: string, args: string[]) => ({ type: 'StasisStart' as const, application: 'ai_app', timestamp: '', args, channel: channel(id) });
  it('recognises the media channel by its id equal to its data arg', () => {
    assert.equal(isMediaStasisStart(event('095ab272-5745-48b6-bcb6-3dbf93689c80', ['095ab272-5745-48b6-bcb6-3dbf93689c80'])), true);
    assert.equal(isMediaStasisStart(event('1795478615.15', [])), false);
    assert.equal(isMediaStasisStart(event('1795478615.15', ['inbound'])), false);
  });
});

describe('CallStats', () => {
  it('keeps a cumulative setup-latency histogram', () => {
    const stats = new CallStats();
    stats.observeSetup(3);
    stats.observeSetup(30);
    stats.observeSetup(9000);
    const { setupMs } = stats.snapshot();
    assert.equal(setupMs.count, 3);
    assert.equal(setupMs.buckets['5'], 1);
    assert.equal(setupMs.buckets['50'], 2);
    assert.equal(setupMs.buckets['5000'], 2);
    assert.equal(setupMs.buckets['+Inf'], 3);
  });
});
