// The echo server over a real TCP socket: UUID then at-once frames, echo, garbage tolerance.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AudioSocketEcho } from './audiosocket-echo.js';
import { encodeFrame, FrameReader, uuidFrame, type Frame } from './audiosocket-frame.js';

let echo: AudioSocketEcho;

before(async () => {
  echo = await AudioSocketEcho.start();
});
after(async () => {
  await echo.stop();
});

async function open(): Promise<{ socket: Socket; frames: Frame[] }> {
  const socket = connect(echo.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const reader = new FrameReader();
  const frames: Frame[] = [];
  socket.on('data', (c: Buffer) => frames.push(...reader.push(c)));
  return { socket, frames };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('sends silence from the UUID on, echoes audio, records the session', async () => {
  const uuid = randomUUID();
  const { socket, frames } = await open();
  socket.write(uuidFrame(uuid));
  await until(() => frames.length >= 1, 'first frame');
  assert.deepEqual([frames[0]?.kind, frames[0]?.payload.length], [0x10, 320]);
  const audio = Buffer.alloc(640, 7);
  socket.write(encodeFrame(0x12, audio));
  await until(() => frames.some((f) => f.kind === 0x12 && f.payload.equals(audio)), 'echoed slin16');
  await until(() => frames.at(-1)?.kind === 0x12 && frames.at(-1)?.payload.length === 640, 'slin16 silence');
  socket.write(encodeFrame(0x00, Buffer.alloc(0)));
  await until(() => echo.sessions.get(uuid)?.closedAt !== undefined, 'closed on hangup frame');
  const session = echo.sessions.get(uuid);
  assert.ok(session !== undefined && session.bytesIn >= 19 + 643 && session.framesOut >= 2);
});

test('garbage closes that connection only', async () => {
  const { socket } = await open();
  const closed = new Promise((r) => socket.once('close', r));
  socket.write(Buffer.from([0x42, 0x00, 0x01, 0x00]));
  await closed;
  const uuid = randomUUID();
  const second = await open();
  second.socket.write(uuidFrame(uuid));
  await until(() => second.frames.length > 0, 'server still serving');
  second.socket.destroy();
});
