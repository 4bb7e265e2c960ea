// RFC 6455 framing: lengths at every size class, masking both ways, split input, close payloads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closePayload, encodeFrame, FrameParser, Opcode, parseClosePayload, WsProtocolError } from './ws-codec.js';

test('frames of every length class round-trip, masked (client to server) and not, fed whole or byte by byte', () => {
  for (const len of [0, 1, 125, 126, 640, 65535, 65536, 200_000]) {
    const payload = Buffer.alloc(len, len % 256);
    for (const masked of [false, true]) {
      const frame = encodeFrame(Opcode.binary, payload, masked);
      const whole = new FrameParser(masked, 1 << 20).push(frame);
      assert.equal(whole.length, 1);
      assert.deepEqual([whole[0]?.fin, whole[0]?.opcode], [true, Opcode.binary]);
      assert.ok(whole[0]?.payload.equals(payload), `len ${len} masked ${masked}`);
      if (masked && len > 0) assert.ok(!frame.subarray(frame.length - len).equals(payload), 'payload is masked on the wire');
      if (len <= 640) {
        const parser = new FrameParser(masked, 1 << 20);
        const frames = [...frame].flatMap((b) => parser.push(Buffer.from([b])));
        assert.ok(frames.length === 1 && frames[0]?.payload.equals(payload));
      }
    }
  }
});

test('a server refuses unmasked frames, a client masked ones, and both oversized ones', () => {
  assert.throws(() => new FrameParser(true, 100).push(encodeFrame(Opcode.text, Buffer.from('x'), false)), WsProtocolError);
  assert.throws(() => new FrameParser(false, 100).push(encodeFrame(Opcode.text, Buffer.from('x'), true)), WsProtocolError);
  assert.throws(() => new FrameParser(false, 100).push(encodeFrame(Opcode.binary, Buffer.alloc(101), false)), WsProtocolError);
});

test('close payloads: code and reason, 1005 when empty', () => {
  assert.deepEqual(parseClosePayload(closePayload(1001, 'bye')), { code: 1001, reason: 'bye' });
  assert.deepEqual(parseClosePayload(Buffer.alloc(0)), { code: 1005, reason: '' });
});
