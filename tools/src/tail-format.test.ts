import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatExchange, formatJson, formatMessage } from './tail-format.js';
import { createRequestTracker, replyPattern } from './tail-requests.js';

const at = new Date('2026-11-25T09:00:01.234Z');
const later = new Date('2026-11-25T09:00:01.236Z');
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
/** The line without its runs of padding, so the assertions do not depend on column widths. */
const squeeze = (line: string) => line.replace(/ {2,}/g, ' ');

describe('formatMessage', () => {
  it('summarises an ARI event by node, type and what it is about', () => {
    const line = formatMessage({
      subject: 'ari.event.ai_app.pbx1.StasisStart', at,
      data: enc({ type: 'StasisStart', args: [], channel: { id: '17.15', name: 'PJSIP/sipp-0', state: 'Ring', caller: { number: '+4930' } }, asterisk_id: 'x' }),
    });
    assert.equal(squeeze(line), '09:00:01.234 pbx1 StasisStart channel=17.15 PJSIP/sipp-0 (Ring) caller=+4930');
  });
  it('says what a Dial, a bridge event and an unknown event carry', () => {
    const dial = formatMessage({
      subject: 'ari.event.ai_app.pbx1.Dial', at,
      data: enc({ type: 'Dial', peer: { id: 'u1', name: 'AudioSocket/127.0.0.1:7575-u1', state: 'Up' }, dialstatus: 'ANSWER', dialstring: '127.0.0.1:7575/u1', forward: '' }),
    });
    assert.equal(squeeze(dial), '09:00:01.234 pbx1 Dial peer=u1 AudioSocket/127.0.0.1:7575-u1 (Up) dialstatus=ANSWER dialstring=127.0.0.1:7575/u1');
    const destroyed = formatMessage({ subject: 'ari.event.ai_app.pbx1.BridgeDestroyed', at, data: enc({ type: 'BridgeDestroyed', bridge: { id: 'b1', bridge_type: 'mixing', channels: [] } }) });
    assert.equal(squeeze(destroyed), '09:00:01.234 pbx1 BridgeDestroyed bridge=b1 mixing [0 channels]');
    const odd = formatMessage({ subject: 'ari.event.ai_app.pbx1.Weird', at, data: enc({ type: 'Weird', timestamp: 't', something: 1 }) });
    assert.equal(squeeze(odd), '09:00:01.234 pbx1 Weird {"something":1}');
    const bare = formatMessage({ subject: 'ari.event.ai_app.pbx1.Bare', at, data: enc({ type: 'Bare', timestamp: 't' }) });
    assert.equal(squeeze(bare), '09:00:01.234 pbx1 Bare (no fields)');
  });
  it('shows a call event whole on one line: kind, node, session, caller, setup time, cause', () => {
    const event = {
      kind: 'ended', app: 'ai_app', node: 'pbx1', sessionId: '095ab272-0000-4000-8000-000000000001', channelId: '17.15', bridgeId: 'b',
      externalChannelId: 'e', callerNumber: '+4930123456', callerName: 'Alice', startedAt: 's', setupMs: 4.24, cause: 'caller_hangup', at: 'a',
      // Far past any width a line used to be cut at: nothing of the above may be lost.
      extra: 'x'.repeat(500),
    };
    const line = formatMessage({ subject: 'call.event.ai_app.pbx1.ended', at, data: enc(event) });
    assert.equal(squeeze(line), '09:00:01.234 pbx1 call ended session=095ab272-0000-4000-8000-000000000001 caller=+4930123456 "Alice" setup=4.2 ms cause=caller_hangup channel=17.15');
    const failed = formatMessage({ subject: 'call.event.ai_app.pbx1.failed', at, data: enc({ ...event, kind: 'failed', callerNumber: '', callerName: '', setupMs: undefined, cause: 'setup_failed:media:ari_error' }) });
    assert.match(squeeze(failed), /call failed session=\S+ caller=\(no number\) cause=setup_failed:media:ari_error channel=17\.15$/);
    const media = { connection: 'server', connectionId: 'c1', url: 'ws://asterisk:8088/media/c1' };
    const ready = formatMessage({ subject: 'call.event.ai_app.pbx1.media_ready', at, data: enc({ ...event, kind: 'media_ready', setupMs: undefined, cause: undefined, media }) });
    assert.match(squeeze(ready), /call media_ready session=\S+ caller=\+4930123456 "Alice" connect=ws:\/\/asterisk:8088\/media\/c1 channel=17\.15$/);
  });
  it('shows a gateway status change', () => {
    const line = formatMessage({ subject: 'ari.status.ai_app.pbx1', at, data: enc({ app: 'ai_app', node: 'pbx1', instance: 'gw-1', state: 'disconnected', since: 's', reason: 'ping timeout' }) });
    assert.equal(squeeze(line), '09:00:01.234 pbx1 gateway gw-1 disconnected (ping timeout)');
  });
  it('copes with text, binary and empty payloads, and cuts only what nothing summarises', () => {
    assert.match(formatMessage({ subject: 'x', at, data: enc('hello') }), / "hello"$/);
    assert.match(formatMessage({ subject: 'x', at, data: new Uint8Array([0xff, 0xfe]) }), /<2 bytes, binary>$/);
    assert.match(formatMessage({ subject: 'x', at, data: new Uint8Array() }), /<empty>$/);
    const long = formatMessage({ subject: 'x', at, data: enc({ a: 'y'.repeat(1000) }) });
    assert.ok(long.length < 450 && long.endsWith("… (1008 chars)"), long);
  });
});

describe('formatExchange', () => {
  const request = { subject: 'ari.command.ai_app.pbx1.channels.answer', reply: '_INBOX.abc.7', at, data: enc({ channelId: '17.15' }) };
  it('shows a command with its reply and round trip', () => {
    const ok = formatExchange(request, { msg: { subject: '_INBOX.abc.7', at: later, data: enc({ ok: true, result: {} }) }, rttMs: 2.06 });
    assert.equal(squeeze(ok), '09:00:01.236 pbx1 channels.answer channelId=17.15 -> ok (2.1 ms)');
    const created = formatExchange({ ...request, subject: 'ari.command.ai_app.pbx1.bridges.create', data: enc({ bridgeId: 'b1', type: 'mixing' }) },
      { msg: { subject: '_INBOX.abc.7', at: later, data: enc({ ok: true, result: { id: 'b1', bridge_type: 'mixing' } }) }, rttMs: 5 });
    assert.equal(squeeze(created), '09:00:01.236 pbx1 bridges.create bridgeId=b1 type=mixing -> ok id=b1 (5 ms)');
    const err = formatExchange(request, { msg: { subject: '_INBOX.abc.7', at: later, data: enc({ ok: false, error: { code: 'not_found', message: 'Channel not found', status: 404 } }) }, rttMs: 3.4 });
    assert.equal(squeeze(err), '09:00:01.236 pbx1 channels.answer channelId=17.15 -> not_found (404): Channel not found (3.4 ms)');
  });
  it('says when no reply came', () => {
    assert.equal(squeeze(formatExchange(request, { waitedMs: 15_000 })), '09:00:16.234 pbx1 channels.answer channelId=17.15 -> no reply within 15 s');
  });
  it('--json keeps the payload whole, parsed', () => {
    const line = JSON.parse(formatJson(request, { rttMs: 1 })) as Record<string, unknown>;
    assert.deepEqual(line, { at: at.toISOString(), subject: request.subject, reply: '_INBOX.abc.7', rttMs: 1, data: { channelId: '17.15' } });
  });
});

describe('request tracker', () => {
  const req = (reply: string) => ({ subject: 's', reply, at, data: new Uint8Array() });
  it('pairs a reply with its request and gives the round trip', () => {
    const t = createRequestTracker(1000);
    t.request(req('_INBOX.a.1'), 100);
    assert.equal(t.reply('_INBOX.a.2', 105), undefined);
    assert.equal(t.reply('_INBOX.a.1', 103.5)?.rttMs, 3.5);
    assert.equal(t.reply('_INBOX.a.1', 104), undefined, 'answered once');
    assert.equal(t.size, 0);
  });
  it('gives up requests after the timeout, and the oldest past the bound', () => {
    const t = createRequestTracker(1000, 2);
    t.request(req('r1'), 0);
    t.request(req('r2'), 10);
    assert.deepEqual(t.request(req('r3'), 20).map((m) => m.reply), ['r1']);
    assert.deepEqual(t.expired(1015).map((m) => m.reply), ['r2']);
    assert.equal(t.size, 1);
  });
  it('subscribes to a multiplexed inbox once for all its replies', () => {
    assert.equal(replyPattern('_INBOX.abc.7'), '_INBOX.abc.*');
    assert.equal(replyPattern('_INBOX.abc'), '_INBOX.abc');
  });
});
