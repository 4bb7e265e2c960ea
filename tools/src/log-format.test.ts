import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callSummary } from './health-watch.js';
import { showsInTerminal } from './demo-output.js';
import { formatLogLine } from './log-format.js';

const opts = { nameWidth: 18, color: false, now: () => new Date('2026-11-25T09:00:00.000Z') };

describe('formatLogLine', () => {
  it('turns a pino line into time, process, level, message and the fields that say something', () => {
    const line = JSON.stringify({
      level: 40, time: '2026-11-25T09:00:01.234Z', service: 'call-controller', pid: 42, name: 'call-controller',
      instance: 'host-42-ab', app: 'ai_app', feature: 'jetstream',
      err: { type: 'NatsError', message: 'stream not found', stack: 'NatsError: stream not found\n    at x (y.js:1:1)', code: '404' },
      msg: 'JetStream or the event stream not available yet; retrying',
    });
    assert.equal(formatLogLine('call-controller-1', line, opts),
      '09:00:01.234 call-controller-1  WARN  JetStream or the event stream not available yet; retrying  feature=jetstream err="stream not found (404)"');
  });
  it('names each service once, and shows status lines and plain text too', () => {
    const line = formatLogLine('health', JSON.stringify({ level: 30, time: '2026-11-25T09:00:01.234Z', service: 'health', name: 'health', port: 9000, msg: 'listening' }), opts);
    assert.equal(line, '09:00:01.234 health             INFO  listening  port=9000');
    assert.equal((line.match(/health/g) ?? []).length, 1);
    assert.equal(formatLogLine('ari-simulator', '{"status":"listening","ari":"http://127.0.0.1:1/ari"}', opts), '09:00:00.000 ari-simulator      INFO  listening  ari=http://127.0.0.1:1/ari');
    assert.equal(formatLogLine('x', 'Error: boom', opts), '09:00:00.000 x                  Error: boom');
  });
  it('colours warnings and errors on a terminal', () => {
    const line = formatLogLine('x', JSON.stringify({ level: 50, msg: 'bad' }), { ...opts, color: true });
    assert.ok(line.includes('\x1b[31mERROR\x1b[0m'), line);
  });
});

describe('the demo terminal', () => {
  it('leaves per-call info lines to the log file and pnpm tail, never a warning', () => {
    assert.equal(showsInTerminal(JSON.stringify({ level: 30, msg: 'call ended', channelId: '1.2', sessionId: 'u' })), false);
    assert.equal(showsInTerminal(JSON.stringify({ level: 40, msg: 'call setup failed', channelId: '1.2' })), true);
    assert.equal(showsInTerminal(JSON.stringify({ level: 30, msg: 'ready' })), true);
    assert.equal(showsInTerminal('   '), false);
  });
  it('sums up the calls every few seconds, and says nothing when nothing moved', () => {
    const first = { active: 2, started: 7, ended: 5, failed: 0 };
    assert.equal(callSummary(undefined, first, 10), 'calls: 2 active; so far 7 started, 5 ended, 0 failed');
    assert.equal(callSummary(first, { active: 3, started: 27, ended: 24, failed: 1 }, 10), 'calls: 3 active; in the last 10 s 20 started, 19 ended, 1 failed');
    assert.equal(callSummary(first, first, 10), undefined);
  });
});
