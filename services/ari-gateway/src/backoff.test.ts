import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';

const opts = { minMs: 500, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('retries the first time within minMs (well under a second)', () => {
    assert.equal(backoffDelay(0, opts, () => 0), 250);
    assert.equal(backoffDelay(0, opts, () => 1), 500);
  });
  it('doubles per attempt and never exceeds the cap', () => {
    assert.equal(backoffDelay(1, opts, () => 1), 1000);
    assert.equal(backoffDelay(3, opts, () => 1), 4000);
    for (const attempt of [6, 7, 20, 1000, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, opts, () => 1);
      assert.equal(delay, 30_000, `attempt ${attempt}`);
    }
  });
  it('jitters within [half, full] of the step, so it is never a tight loop', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const full = Math.min(30_000, 500 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, opts);
        assert.ok(delay >= full / 2 - 1 && delay <= full, `attempt ${attempt}: ${delay}`);
      }
    }
  });
  it('lets the cap win over a larger min, and keeps at least 1 ms', () => {
    assert.equal(backoffDelay(0, { minMs: 5000, maxMs: 1000 }, () => 1), 1000);
    assert.equal(backoffDelay(0, { minMs: 0, maxMs: 0 }, () => 0), 1);
  });
});
