import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOLD_MS, MediaPath, type MediaPathSnapshot } from './media-path.js';

describe('MediaPath', () => {
  const make = () => {
    let now = 1_700_000_000_000;
    const changes: MediaPathSnapshot[] = [];
    const path = new MediaPath({ transport: 'websocket', connection: 'client', slowMs: 2000 }, (s) => changes.push(s), () => now);
    return { path, changes, tick: (ms: number) => (now += ms) };
  };

  it('is ok while media channels come up in time', () => {
    const { path, changes } = make();
    path.observe({ kind: 'up', ms: 12 });
    assert.deepEqual(path.snapshot(), { transport: 'websocket', connection: 'client', state: 'ok', slow: 0, timeouts: 0 });
    assert.deepEqual(changes, []);
  });

  it('is degraded while a slow one is waited for, and after it until one comes up in time', () => {
    const { path, changes, tick } = make();
    path.observe({ kind: 'slow' });
    assert.equal(path.snapshot().state, 'degraded');
    assert.match(path.snapshot().reason!, /1 media channel\(s\) waited for longer than 2000 ms/);
    tick(HOLD_MS * 2);
    assert.equal(path.snapshot().state, 'degraded', 'still waited for');
    path.observe({ kind: 'slow_over' });
    path.observe({ kind: 'up', ms: 2500 });
    assert.equal(path.snapshot().state, 'degraded', 'the hold counts from the slow one');
    tick(HOLD_MS);
    assert.equal(path.snapshot().state, 'ok');
    assert.deepEqual(changes.map((c) => c.state), ['degraded', 'ok']);
    assert.equal(path.snapshot().slow, 1);
  });

  it('a timed-out media command degrades it until a media channel comes up in time', () => {
    const { path, tick } = make();
    path.observe({ kind: 'timeout', what: 'externalMedia' });
    const s = path.snapshot();
    assert.equal(s.state, 'degraded');
    assert.match(s.reason!, /externalMedia timed out 0 s ago/);
    assert.ok(s.since);
    tick(1000);
    path.observe({ kind: 'up', ms: 20 });
    assert.equal(path.snapshot().state, 'ok');
    assert.equal(path.snapshot().timeouts, 1);
  });
});
