import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallStats } from './call-stats.js';
import { isMediaStasisStart } from './event-decoder.js';
import { Mailbox } from './mailbox.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Mailbox', () => {
  it('handles messages one at a time, in order, each to completion', async () => {
    const log: string[] = [];
    const box = new Mailbox<number>(async (n) => {
      log.push(`start ${n}`);
      await tick();
      log.push(`end ${n}`);
    }, () => assert.fail('no error expected'));
    box.post(1);
    box.post(2);
    await tick(); await tick(); await tick(); await tick();
    assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2']);
  });
  it('keeps going after a handler throws, and drops messages once closed', async () => {
    const seen: number[] = [];
    const errors: number[] = [];
    const box = new Mailbox<number>((n) => {
      if (n === 1) throw new Error('boom');
      seen.push(n);
    }, (_err, n) => errors.push(n));
    box.post(1);
    box.post(2);
    await tick();
    box.close();
    box.post(3);
    await tick();
    assert.deepEqual(seen, [2]);
    assert.deepEqual(errors, [1]);
  });
});

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
