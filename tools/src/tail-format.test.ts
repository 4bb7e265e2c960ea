import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMessage } from './tail-format.js';

const at = new Date('2026-11-25T09:00:01.234Z');
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('formatMessage', () => {
  it('summarises an ARI event', () => {
    const line = formatMessage({
      subject: 'ari.event.ai_app.pbx1.StasisStart', at,
      data: enc({ type: 'StasisStart', args: [], channel: { id: '17.15', name: 'PJSIP/sipp-0', state: 'Ring', caller: { number: '+4930' } }, asterisk_id: 'x' }),
    });
    assert.equal(line, '09:00:01.234 ari.event.ai_app.pbx1.StasisStart  StasisStart channel=17.15 PJSIP/sipp-0 (Ring) from +4930');
  });
  it('shows other JSON compactly, marks requests, cuts long payloads', () => {
    const line = formatMessage({ subject: 'ari.command.ai_app.pbx1.channels.answer', reply: '_INBOX.x', at, data: enc({ channelId: '17.15' }) });
    assert.equal(line, '09:00:01.234 ari.command.ai_app.pbx1.channels.answer (request)  {"channelId":"17.15"}');
    const long = formatMessage({ subject: 'x', at, data: enc({ a: 'y'.repeat(1000) }) });
    assert.ok(long.length < 300 && long.endsWith('…'));
  });
  it('copes with text, binary and empty payloads', () => {
    assert.match(formatMessage({ subject: 'x', at, data: enc('hello') }), / {2}"hello"$/);
    assert.match(formatMessage({ subject: 'x', at, data: new Uint8Array([0xff, 0xfe]) }), /<2 bytes, binary>$/);
    assert.match(formatMessage({ subject: 'x', at, data: new Uint8Array() }), /<empty>$/);
  });
});
