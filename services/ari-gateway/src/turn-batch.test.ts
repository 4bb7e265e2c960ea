import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTurnBatch } from './turn-batch.js';

test('runs deferred work in order at the end of the turn, one failure does not stop the rest', async () => {
  const seen: string[] = [];
  const errors: unknown[] = [];
  const batch = createTurnBatch((err) => errors.push(err));
  batch.defer(() => seen.push('a'));
  batch.defer(() => {
    throw new Error('boom');
  });
  batch.defer(() => seen.push('b'));
  assert.equal(seen.length, 0, 'nothing ran before the end of the turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(errors.length, 1);
  batch.defer(() => seen.push('c'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['a', 'b', 'c']);
});
