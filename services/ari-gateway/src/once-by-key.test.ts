import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOnceByKey } from './once-by-key.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('once by key', () => {
  it('answers a key run again, in flight or done, with the first outcome and runs nothing', async () => {
    let runs = 0;
    let release!: (v: string) => void;
    const once = createOnceByKey<string>({ ttlMs: 1000, maxKeys: 10, forget: () => false, now: () => 0 });
    const first = once.run('a', () => { runs += 1; return new Promise((r) => { release = r; }); });
    const inFlight = once.run('a', () => { runs += 1; return Promise.resolve('second'); });
    assert.equal(inFlight.repeated, true);
    release('first');
    assert.equal(await inFlight.outcome, 'first');
    const done = once.run('a', () => { runs += 1; return Promise.resolve('third'); });
    assert.equal(await done.outcome, 'first');
    assert.equal(await first.outcome, 'first');
    assert.equal(runs, 1);
  });

  it('forgets a key after its ttl, when full (oldest first), and at once after an outcome it may run again for', async () => {
    let t = 0;
    const once = createOnceByKey<string>({ ttlMs: 1000, maxKeys: 2, forget: (o) => o === 'refused', now: () => t });
    once.run('old', () => Promise.resolve('ok'));
    t = 1001;
    assert.equal(once.run('old', () => Promise.resolve('again')).repeated, false, 'past its ttl');
    once.run('b', () => Promise.resolve('ok'));
    once.run('c', () => Promise.resolve('ok'));
    assert.equal(once.size, 2);
    assert.equal(once.run('old', () => Promise.resolve('ok')).repeated, false, 'the oldest went when full');
    once.run('r', () => Promise.resolve('refused'));
    await tick();
    assert.equal(once.run('r', () => Promise.resolve('ok')).repeated, false);
    once.run('x', () => Promise.reject(new Error('boom'))).outcome.catch(() => undefined);
    await tick();
    assert.equal(once.run('x', () => Promise.resolve('ok')).repeated, false, 'a run that threw is forgotten');
  });
});
