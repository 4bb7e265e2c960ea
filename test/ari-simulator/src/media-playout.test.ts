// The playout queue alone, tick by tick: what control-plain.json shows at 50 frames/s.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlayoutQueue, type PlayoutNote } from './media-playout.js';

function run(q: PlayoutQueue, ticks: number): { sizes: number[]; notes: Array<[number, PlayoutNote]> } {
  const sizes: number[] = [];
  const notes: Array<[number, PlayoutNote]> = [];
  for (let t = 1; t <= ticks; t += 1) {
    const r = q.tick();
    if (r.frame !== undefined) sizes.push(r.frame.length);
    for (const n of r.notes) notes.push([t, n]);
  }
  return { sizes, notes };
}

test('64000 bytes are 100 frames; the mark behind them is reported on the tick after the last', () => {
  const q = new PlayoutQueue(640);
  q.enqueue(Buffer.alloc(64000));
  q.mark('mark-1');
  assert.equal(q.length, 100);
  const { sizes, notes } = run(q, 102);
  assert.equal(sizes.length, 100);
  assert.deepEqual(notes, [[101, { kind: 'markProcessed', id: 'mark-1' }]]);
});

test('flush drops the audio and the marks behind it; pause holds everything', () => {
  const q = new PlayoutQueue(640);
  q.enqueue(Buffer.alloc(6400));
  q.mark('m');
  q.paused = true;
  assert.deepEqual(run(q, 5), { sizes: [], notes: [] });
  assert.equal(q.length, 10);
  q.flush();
  q.paused = false;
  assert.equal(q.length, 0);
  assert.deepEqual(run(q, 20), { sizes: [], notes: [] });
});

test('buffering joins messages and ends with a short frame; outside it each message ends short', () => {
  const q = new PlayoutQueue(640);
  q.startBuffering();
  for (let i = 0; i < 3; i += 1) q.enqueue(Buffer.alloc(1000));
  assert.equal(q.bulk, true);
  q.stopBuffering('buf-1');
  q.enqueue(Buffer.alloc(1000));
  const { sizes, notes } = run(q, 10);
  assert.deepEqual(sizes, [640, 640, 640, 640, 440, 640, 360]);
  assert.deepEqual(notes, [[6, { kind: 'bufferingCompleted', id: 'buf-1' }]]);
});

test('drained is reported once the queue is empty; XOFF at 900 frames, XON back at 800', () => {
  const q = new PlayoutQueue(160);
  q.enqueue(Buffer.alloc(160 * 2));
  q.reportWhenDrained();
  assert.deepEqual(run(q, 4).notes, [[3, { kind: 'drained' }]]);
  assert.deepEqual(q.enqueue(Buffer.alloc(160 * 899)), []);
  assert.deepEqual(q.enqueue(Buffer.alloc(160)), [{ kind: 'xoff' }]);
  assert.equal(q.full, true);
  const { notes } = run(q, 100);
  assert.deepEqual(notes, [[100, { kind: 'xon' }]]);
  assert.equal(q.length, 800);
});
