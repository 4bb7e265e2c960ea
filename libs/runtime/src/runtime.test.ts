import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, rateLimitedWarn, redactUrl } from './index.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('redacts credentials wherever they appear', () => {
    const { lines, stream } = capture();
    const log = createLogger('t', 'info', stream);
    log.info({ password: 'p1', config: { ARI_PASSWORD: 'p2' }, headers: { authorization: 'Basic p3' } }, 'x');
    assert.equal(lines.length, 1);
    for (const secret of ['p1', 'p2', 'p3']) assert.ok(!lines[0]!.includes(secret), lines[0]);
  });
  it('strips credentials from URLs', () => {
    assert.equal(redactUrl('nats://user:pw@127.0.0.1:4222'), 'nats://127.0.0.1:4222');
    assert.equal(redactUrl('127.0.0.1:4222'), '127.0.0.1:4222');
    assert.equal(redactUrl('user:pw@127.0.0.1:4222'), '127.0.0.1:4222');
    assert.ok(!redactUrl('http://h/ari/events?app=a&api_key=u:pw').includes('pw'));
  });
  it('rate-limits a recurring warning per reason', () => {
    const { lines, stream } = capture();
    const warn = rateLimitedWarn(createLogger('t', 'info', stream), 'dropped', 60_000);
    for (let i = 0; i < 100; i++) warn('not_json');
    warn('bad_type');
    assert.equal(lines.length, 2);
  });
});
