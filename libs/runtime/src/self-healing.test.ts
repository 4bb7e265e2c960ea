import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, keepInPlace, looksMissing } from './index.js';

const log = createLogger('t', 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('keepInPlace', () => {
  it('runs one check at a time, callers share it, and hints are throttled to one per interval', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const healing = keepInPlace(async () => {
      runs += 1;
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await sleep(30);
      concurrent -= 1;
    }, { what: 'test', minIntervalMs: 600, log });
    await Promise.all([healing.ensure(), healing.ensure(), healing.ensure()]);
    assert.equal(runs, 1, 'three callers, one check');
    for (let i = 0; i < 50; i++) healing.recheckSoon();
    await sleep(100);
    assert.equal(runs, 1, 'a hint inside the interval waits for its end');
    await sleep(800);
    assert.equal(runs, 2, 'fifty hints, one check');
    assert.equal(maxConcurrent, 1);
    healing.stop();
  });

  it('hears of missing assets in errors, not of conflicts', async () => {
    let runs = 0;
    const healing = keepInPlace(async () => void (runs += 1), { what: 'test', minIntervalMs: 0, log });
    for (const err of [{ code: '503' }, { api_error: { code: 404 } }, new Error('stream not found'), new Error('no responders')]) assert.ok(looksMissing(err), JSON.stringify(err));
    for (const err of [new Error('wrong last sequence: 3'), { code: 'TIMEOUT' }, undefined]) assert.ok(!looksMissing(err), String(err));
    const err = new Error('consumer not found');
    assert.equal(healing.noticeError(err), err);
    await sleep(20);
    assert.equal(runs, 1);
    healing.stop();
  });
});
