/**
 * Every order in which a chan_websocket call can end, as recorded on 22.10.1
 * (samples-22.10.1/websocket-media/server-mode/hangup-*.json): what a test does to end it, the
 * cause the call's `ended` event must carry, and the close code the media server's socket gets.
 */
import type { AriSimulator, CallRecord, WebSocketEcho } from '@avb/ari-simulator';
import { ARI_PASSWORD, ARI_USER } from './stack.js';

export interface HangupContext {
  sim: AriSimulator;
  echo: WebSocketEcho;
  call: CallRecord;
  /** The session id: also the media channel's id. */
  sessionId: string;
}

export interface HangupOrder {
  name: string;
  act(ctx: HangupContext): Promise<void> | void;
  cause: string;
  /** What the echo server's socket was closed with (1006: dropped, no close frame). */
  closeCode: number;
}

async function ariDelete(sim: AriSimulator, channelId: string): Promise<void> {
  const res = await fetch(`${sim.baseUrl}/channels/${encodeURIComponent(channelId)}`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64')}` },
  });
  if (res.status !== 204) throw new Error(`DELETE ${channelId}: ${res.status}`);
}

export const HANGUP_ORDERS: HangupOrder[] = [
  // (a) The media channel stays up, its socket open, until the controller deletes it: close 1000.
  { name: 'the caller hangs up', act: ({ sim, call }) => sim.hangup(call.channelId), cause: 'caller_hangup', closeCode: 1000 },
  { name: 'someone deletes the caller through ARI', act: ({ sim, call }) => ariDelete(sim, call.channelId), cause: 'caller_hangup', closeCode: 1000 },
  // (b) Asterisk answers the media server's close with 1001.
  { name: 'the media server closes its socket', act: ({ echo, sessionId }) => echo.close(sessionId, 1000), cause: 'media_ended', closeCode: 1001 },
  { name: 'the media server\'s TCP connection drops', act: ({ echo, sessionId }) => echo.drop(sessionId), cause: 'media_ended', closeCode: 1006 },
  { name: 'the media server sends HANGUP', act: ({ echo, sessionId }) => echo.send(sessionId, 'HANGUP'), cause: 'media_ended', closeCode: 1000 },
  // (c) DELETE of the media channel: close 1000 after its events.
  { name: 'someone deletes the media channel through ARI', act: ({ sim, sessionId }) => ariDelete(sim, sessionId), cause: 'media_ended', closeCode: 1000 },
];
