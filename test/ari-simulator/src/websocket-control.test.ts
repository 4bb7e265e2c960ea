// chan_websocket control frames against control-plain.json and control-json.json, with an Echo()
// caller (as recorded) so the frames played out of the queue come back to the media server.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AriSimulator } from './ari-simulator.js';
import { ari, channelOf, EventClient } from './harness.js';
import { bridge, connectedServerCall, eventsOf, sleep, until, waitForEvent, type MediaClient } from './media-harness.js';

let sim: AriSimulator;
let client: EventClient;

before(async () => {
  sim = await AriSimulator.start({ websocketCallerAudio: 'echo' });
  client = await EventClient.connect(sim);
});
after(async () => {
  client.close();
  await sim.stop();
});

function audio(bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 1) buf[i] = (i % 251) + 1;
  return buf;
}

/** The next text frame after the `from`-th one. */
async function textAfter(media: MediaClient, from: number, what: string, timeoutMs = 3000): Promise<string> {
  await until(() => media.texts.length > from, what, timeoutMs);
  return media.texts[from] as string;
}

async function bridgedCall(transportData?: string) {
  const call = await connectedServerCall(sim, client, transportData === undefined ? {} : { transport_data: transportData });
  await bridge(sim, randomUUID(), [call.callerId, call.mediaId]);
  return call;
}

test('control-plain: STATUS, the queue at 50 frames/s, marks, FLUSH, PAUSE, drain and buffering reports, errors, HANGUP', async () => {
  const { mediaId, media, callerId } = await bridgedCall();
  const status = (q: number, paused = false) =>
    `STATUS channel_id:${mediaId} queue_length:${q} xon_level:800 xoff_level:900 queue_full:false bulk_media:false media_paused:${paused}`;
  let n = media.texts.length;
  media.send('GET_STATUS');
  assert.equal(await textAfter(media, n, 'STATUS'), status(0));
  media.send('ANSWER');
  await sleep(100);
  assert.equal(media.frames.length, 0, 'an Echo() caller sends nothing while the media server is silent');

  // 64000 bytes -> 100 frames; the mark behind them comes ~2.0 s later; the caller echoes each frame.
  n = media.texts.length;
  const sent = performance.now();
  media.send(audio(64000));
  media.send('MARK_MEDIA mark-1');
  media.send('GET_STATUS');
  assert.match(await textAfter(media, n, 'STATUS'), /^STATUS channel_id:\S+ queue_length:(99|100) /);
  assert.equal(await textAfter(media, n + 1, 'MEDIA_MARK_PROCESSED', 4000), 'MEDIA_MARK_PROCESSED mark-1');
  const took = performance.now() - sent;
  assert.ok(took > 1900 && took < 2400, `mark after ${took} ms`);
  await until(() => media.frames.length >= 100, 'the echoed frames');
  assert.equal(media.frames.length, 100);
  assert.ok(media.frames.every((f) => f.data.length === 640));
  assert.ok(media.frames[0]?.data.equals(Buffer.alloc(640)), 'first frame zeros');
  assert.ok(media.frames[1]?.data.equals(audio(1280).subarray(640)));

  // FLUSH_MEDIA empties the queue; the mark behind the flushed audio is never reported.
  media.send(audio(64000));
  media.send('MARK_MEDIA mark-2');
  await sleep(500);
  n = media.texts.length;
  media.send('GET_STATUS');
  const q = Number(/queue_length:(\d+)/.exec(await textAfter(media, n, 'STATUS'))?.[1]);
  assert.ok(q >= 70 && q <= 78, `queue ${q} after 0.5 s`);
  media.send('FLUSH_MEDIA');
  media.send('GET_STATUS');
  assert.equal(await textAfter(media, n + 1, 'STATUS'), status(0));
  await sleep(200);
  assert.equal(media.texts.length, n + 2, 'mark-2 is never reported');

  // PAUSE_MEDIA holds the queue; CONTINUE_MEDIA + REPORT_QUEUE_DRAINED -> QUEUE_DRAINED once played.
  media.send(audio(12800));
  media.send('PAUSE_MEDIA');
  await sleep(300);
  const frames = media.frames.length;
  n = media.texts.length;
  media.send('GET_STATUS');
  assert.equal(await textAfter(media, n, 'STATUS'), status(20, true));
  assert.ok(media.frames.length - frames <= 1);
  media.send('CONTINUE_MEDIA');
  media.send('REPORT_QUEUE_DRAINED');
  assert.equal(await textAfter(media, n + 1, 'QUEUE_DRAINED'), 'QUEUE_DRAINED');
  assert.ok(media.frames.length - frames >= 19);

  // Buffering: 3 x 1000 bytes -> 640, 640, 640, 640, 440, then MEDIA_BUFFERING_COMPLETED.
  const before = media.frames.length;
  n = media.texts.length;
  media.send('START_MEDIA_BUFFERING');
  for (let i = 0; i < 3; i += 1) media.send(audio(1000));
  media.send('STOP_MEDIA_BUFFERING buf-1');
  assert.equal(await textAfter(media, n, 'MEDIA_BUFFERING_COMPLETED'), 'MEDIA_BUFFERING_COMPLETED buf-1');
  assert.deepEqual(media.frames.slice(before).map((f) => f.data.length), [640, 640, 640, 640, 440]);

  // Unknown commands and JSON to a plain channel: no reply. SET_MEDIA_DIRECTION: an ERROR.
  n = media.texts.length;
  media.send('NO_SUCH_COMMAND');
  media.send('{"command":"GET_STATUS"}');
  media.send('SET_MEDIA_DIRECTION');
  assert.equal(await textAfter(media, n, 'ERROR'), `ERROR channel_id:${mediaId} error_text:SET_MEDIA_DIRECTION only supports JSON format.\n`);
  await sleep(100);
  assert.equal(media.texts.length, n + 1);
  const record = sim.websocketMedia.get(mediaId);
  assert.equal(record?.framesReceived, 1 + 1 + 1 + 3);
  // 100 + what played before the flush (~25) + 20 + 5.
  const played = record?.framesPlayed ?? 0;
  assert.ok(played >= 100 + 20 + 20 + 5 && played <= 100 + 32 + 20 + 5, `played ${played}`);

  // HANGUP: cause 16 with tech_cause 1000, close 1000.
  const mark = client.events.length;
  media.send('HANGUP');
  assert.equal(await media.closed, 1000);
  await until(() => eventsOf(client, mediaId, mark).length === 6, 'hangup events');
  const seq = eventsOf(client, mediaId, mark);
  assert.deepEqual(seq.map((e) => e.type), [
    'ChannelHangupRequest', 'ChannelVarset', 'ChannelLeftBridge', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed',
  ]);
  assert.deepEqual([seq[0]?.cause, seq[0]?.tech_cause, seq[5]?.cause, seq[5]?.tech_cause], [16, 1000, 16, 1000]);
  assert.equal(sim.websocketMedia.get(mediaId)?.endedBy, 'hangupCommand');
  await ari(sim, 'DELETE', `/channels/${callerId}`);
});

test('control-json: MEDIA_START with channel_variables, JSON events with channel_id, its one ERROR, HANGUP', async () => {
  const { mediaId, media, callerId } = await bridgedCall('f(json)');
  const start = JSON.parse(media.texts[0] as string) as Record<string, unknown>;
  assert.equal(start.event, 'MEDIA_START');
  assert.deepEqual(Object.keys(start.channel_variables as object), ['MEDIA_WEBSOCKET_CONNECTION_ID', 'MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE']);
  assert.equal(eventsOf(client, mediaId)[0]?.dialstring, 'INCOMING/f(json)');
  let n = media.texts.length;
  media.send('{"command":"GET_STATUS"}');
  assert.equal(
    await textAfter(media, n, 'STATUS'),
    `{"event":"STATUS","channel_id":"${mediaId}","queue_length":0,"xon_level":800,"xoff_level":900,"queue_full":false,"bulk_media":false,"media_paused":false}`,
  );
  n = media.texts.length;
  media.send(audio(6400));
  media.send('{"command":"MARK_MEDIA","correlation_id":"mark-1"}');
  media.send('{"command":"REPORT_QUEUE_DRAINED"}');
  assert.equal(await textAfter(media, n, 'mark'), `{"event":"MEDIA_MARK_PROCESSED","channel_id":"${mediaId}","correlation_id":"mark-1"}`);
  assert.equal(await textAfter(media, n + 1, 'drained'), `{"event":"QUEUE_DRAINED","channel_id":"${mediaId}"}`);
  n = media.texts.length;
  media.send('{"command":"START_MEDIA_BUFFERING"}');
  media.send(audio(1000));
  media.send('{"command":"STOP_MEDIA_BUFFERING","correlation_id":"buf-1"}');
  assert.equal(await textAfter(media, n, 'buffering'), `{"event":"MEDIA_BUFFERING_COMPLETED","channel_id":"${mediaId}","correlation_id":"buf-1"}`);
  n = media.texts.length;
  media.send('{"command":"NO_SUCH_COMMAND"}');
  media.send('{"command":"SET_MEDIA_DIRECTION","direction":"out"}');
  media.send('GET_STATUS');
  assert.equal(await textAfter(media, n, 'ERROR'), `{"event":"ERROR","channel_id":"${mediaId}","error_text":"Unable to parse JSON command"}`);
  media.send('not json');
  await until(() => media.texts.length === n + 2, 'the second ERROR');
  const mark = client.events.length;
  media.send('{"command":"HANGUP"}');
  assert.equal(await media.closed, 1000);
  await until(() => eventsOf(client, mediaId, mark).length === 6, 'hangup events');
  assert.equal(eventsOf(client, mediaId, mark)[0]?.tech_cause, 1000);
  await ari(sim, 'DELETE', `/channels/${callerId}`);
});

test('caller audio silent: nothing reaches the media server while bridged, its audio still plays', async () => {
  const quiet = await AriSimulator.start({ websocketCallerAudio: 'silent' });
  const events = await EventClient.connect(quiet);
  try {
    const call = await connectedServerCall(quiet, events);
    await bridge(quiet, randomUUID(), [call.callerId, call.mediaId]);
    call.media.send(audio(3200));
    await sleep(300);
    assert.equal(call.media.frames.length, 0);
    assert.equal(quiet.websocketMedia.get(call.mediaId)?.framesPlayed, 5);
    await waitForEvent(events, (e) => e.type === 'StasisStart' && channelOf(e).id === call.mediaId, 'media StasisStart');
  } finally {
    events.close();
    await quiet.stop();
  }
});
