import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '@avb/runtime';
import type { NatsConnection, Status } from 'nats';
import { createSafePublish, type PublishFailure } from './safe-publish.js';

/** Just what createSafePublish uses of a connection: publish and a status stream we drive. */
function fakeConnection() {
  const published: string[] = [];
  const pending: Array<(s: IteratorResult<Status>) => void> = [];
  const queued: Status[] = [];
  let failWith: string | undefined;
  const nc = {
    publish(subject: string) {
      if (failWith) throw Object.assign(new Error(failWith), { code: failWith });
      published.push(subject);
    },
    status: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Status>>((resolve) => {
          const s = queued.shift();
          if (s) resolve({ value: s, done: false });
          else pending.push(resolve);
        }),
      }),
    }),
  } as unknown as NatsConnection;
  const emit = async (type: string) => {
    const status = { type, data: '' } as Status;
    const waiter = pending.shift();
    if (waiter) waiter({ value: status, done: false });
    else queued.push(status);
    await new Promise((r) => setImmediate(r));
  };
  return { nc, published, emit, failNext: (code: string | undefined) => (failWith = code) };
}

const quietLog = () => createLogger('t', 'silent', new Writable({ write: (_c, _e, cb) => cb() }));

describe('createSafePublish', () => {
  it('never throws: too large and closed are counted', () => {
    const { nc, failNext } = fakeConnection();
    const failed: PublishFailure[] = [];
    const publish = createSafePublish({ nc, maxBufferedBytes: 100, onFailed: (r) => failed.push(r), log: quietLog() });
    failNext('MAX_PAYLOAD_EXCEEDED');
    publish('a', new Uint8Array(10));
    failNext('CONNECTION_CLOSED');
    publish('a', new Uint8Array(10));
    failNext('SOMETHING');
    publish('a', new Uint8Array(10));
    assert.deepEqual(failed, ['too_large', 'closed', 'error']);
  });

  it('keeps at most maxBufferedBytes while NATS is down, and starts over after the reconnect', async () => {
    const { nc, published, emit } = fakeConnection();
    const failed: PublishFailure[] = [];
    const publish = createSafePublish({ nc, maxBufferedBytes: 25, onFailed: (r) => failed.push(r), log: quietLog() });
    await emit('disconnect');
    for (let i = 0; i < 4; i++) publish(`down.${i}`, new Uint8Array(10));
    assert.deepEqual(published, ['down.0', 'down.1']);
    assert.deepEqual(failed, ['nats_down_buffer_full', 'nats_down_buffer_full']);
    await emit('reconnect');
    for (let i = 0; i < 4; i++) publish(`up.${i}`, new Uint8Array(10));
    assert.equal(published.length, 6, 'no bound while connected');
  });
});
