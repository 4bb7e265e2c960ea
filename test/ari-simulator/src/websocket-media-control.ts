// chan_websocket's text frames, in both control formats as recorded (control-plain.json,
// control-json.json): commands from the media server parsed, events to it formatted.

import { XOFF_LEVEL, XON_LEVEL, type PlayoutNote, type PlayoutQueue } from './media-playout.js';

export type ControlFormat = 'plain' | 'json';

export const Command = {
  answer: 'ANSWER',
  hangup: 'HANGUP',
  getStatus: 'GET_STATUS',
  flush: 'FLUSH_MEDIA',
  mark: 'MARK_MEDIA',
  pause: 'PAUSE_MEDIA',
  resume: 'CONTINUE_MEDIA',
  reportDrained: 'REPORT_QUEUE_DRAINED',
  startBuffering: 'START_MEDIA_BUFFERING',
  stopBuffering: 'STOP_MEDIA_BUFFERING',
  setDirection: 'SET_MEDIA_DIRECTION',
} as const;
export type Command = (typeof Command)[keyof typeof Command];

const COMMANDS = new Set<string>(Object.values(Command));

export type ParsedControl =
  | { kind: 'command'; command: Command; /** correlation id (MARK_MEDIA, STOP_MEDIA_BUFFERING) or direction */ arg: string }
  | { kind: 'error'; text: string }
  /** Unknown commands, and JSON sent to a plain channel: Asterisk says nothing. */
  | { kind: 'ignored' };

export function parseControl(format: ControlFormat, text: string): ParsedControl {
  if (format === 'plain') {
    const space = text.indexOf(' ');
    const name = space < 0 ? text : text.slice(0, space);
    const arg = space < 0 ? '' : text.slice(space + 1).trim();
    if (!COMMANDS.has(name)) return { kind: 'ignored' };
    if (name === Command.setDirection) return { kind: 'error', text: 'SET_MEDIA_DIRECTION only supports JSON format.\n' };
    return { kind: 'command', command: name as Command, arg };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'error', text: 'Unable to parse JSON command' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { kind: 'error', text: 'Unable to parse JSON command' };
  const fields = parsed as Record<string, unknown>;
  const name = fields.command;
  if (typeof name !== 'string' || !COMMANDS.has(name)) return { kind: 'ignored' };
  const arg = name === Command.setDirection ? fields.direction : fields.correlation_id;
  return { kind: 'command', command: name as Command, arg: typeof arg === 'string' ? arg : '' };
}

/** The commands that only act on the playout queue; returns the notes due at once (FLUSH's XON). */
export function applyQueueCommand(q: PlayoutQueue, command: Command, arg: string): PlayoutNote[] {
  switch (command) {
    case Command.flush:
      return q.flush();
    case Command.mark:
      q.mark(arg);
      break;
    case Command.pause:
      q.paused = true;
      break;
    case Command.resume:
      q.paused = false;
      break;
    case Command.reportDrained:
      q.reportWhenDrained();
      break;
    case Command.startBuffering:
      q.startBuffering();
      break;
    case Command.stopBuffering:
      q.stopBuffering(arg);
      break;
    default:
      break;
  }
  return [];
}

export interface MediaStartInfo {
  connectionId: string;
  channel: string;
  channelId: string;
  format: string;
  optimalFrameSize: number;
  channelVariables: Record<string, string>;
}

export function formatMediaStart(format: ControlFormat, m: MediaStartInfo): string {
  if (format === 'json') {
    return JSON.stringify({
      event: 'MEDIA_START',
      connection_id: m.connectionId,
      channel: m.channel,
      channel_id: m.channelId,
      format: m.format,
      optimal_frame_size: m.optimalFrameSize,
      ptime: 20,
      channel_variables: m.channelVariables,
    });
  }
  return (
    `MEDIA_START connection_id:${m.connectionId} channel:${m.channel} channel_id:${m.channelId} ` +
    `format:${m.format} optimal_frame_size:${m.optimalFrameSize} ptime:20`
  );
}

export interface QueueStatus {
  length: number;
  full: boolean;
  bulk: boolean;
  paused: boolean;
}

export function formatStatus(format: ControlFormat, channelId: string, q: QueueStatus): string {
  if (format === 'json') {
    return JSON.stringify({
      event: 'STATUS',
      channel_id: channelId,
      queue_length: q.length,
      xon_level: XON_LEVEL,
      xoff_level: XOFF_LEVEL,
      queue_full: q.full,
      bulk_media: q.bulk,
      media_paused: q.paused,
    });
  }
  return (
    `STATUS channel_id:${channelId} queue_length:${q.length} xon_level:${XON_LEVEL} xoff_level:${XOFF_LEVEL} ` +
    `queue_full:${q.full} bulk_media:${q.bulk} media_paused:${q.paused}`
  );
}

const NOTE_EVENTS = {
  markProcessed: 'MEDIA_MARK_PROCESSED',
  bufferingCompleted: 'MEDIA_BUFFERING_COMPLETED',
  drained: 'QUEUE_DRAINED',
  // Not recorded (the queue never reached 900 frames): named as chan_websocket documents them.
  xoff: 'MEDIA_XOFF',
  xon: 'MEDIA_XON',
} as const;

/** Plain events carry the correlation id bare (`MEDIA_MARK_PROCESSED mark-1`), JSON ones add channel_id. */
export function formatNote(format: ControlFormat, channelId: string, note: PlayoutNote): string {
  const event = NOTE_EVENTS[note.kind];
  const id = 'id' in note ? note.id : undefined;
  if (format === 'json') {
    return JSON.stringify(id === undefined ? { event, channel_id: channelId } : { event, channel_id: channelId, correlation_id: id });
  }
  return id === undefined || id === '' ? event : `${event} ${id}`;
}

export function formatError(format: ControlFormat, channelId: string, text: string): string {
  if (format === 'json') return JSON.stringify({ event: 'ERROR', channel_id: channelId, error_text: text });
  return `ERROR channel_id:${channelId} error_text:${text}`;
}
