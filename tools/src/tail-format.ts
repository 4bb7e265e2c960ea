/**
 * One readable line per NATS message, or per request and its reply (pure):
 *   09:00:01.234 pbx1 StasisStart        channel=17.15 PJSIP/sipp-0 (Ring) caller=+4930
 *   09:00:01.236 pbx1 channels.answer    channelId=17.15 -> ok (2.1 ms)
 *   09:00:01.240 pbx1 call started       session=095ab272-... caller=+4930 "Alice" setup=4.2 ms
 * ARI events show the fields that matter for their type; call events their kind, node, session,
 * caller, setup time and cause; anything else compact JSON. No line is only a subject: when
 * nothing is known of a payload, it is shown as it is.
 */
import { parseCommandSubject, parseEventSubject } from '@avb/contracts';

export interface TailMessage {
  subject: string;
  data: Uint8Array;
  /** Set when the sender waits for an answer (a command). */
  reply?: string | undefined;
  at: Date;
}

const MAX_CHARS = 400;
const NAME_WIDTH = 22;
const decoder = new TextDecoder('utf-8', { fatal: true });

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

const clip = (text: string, max = MAX_CHARS) => (text.length > max ? `${text.slice(0, max - 1)}… (${text.length} chars)` : text);
const time = (d: Date) => d.toISOString().slice(11, 23);
/** `v` as it reads best after `k=`: bare when it is a string without spaces or quotes. */
const value = (v: unknown) => (typeof v === 'string' && /^[^\s"]+$/.test(v) ? v : JSON.stringify(v));

type Payload = { json: unknown } | { text: string } | { binary: number } | { empty: true };

export function decodePayload(data: Uint8Array): Payload {
  if (data.length === 0) return { empty: true };
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return { binary: data.length };
  }
  try {
    return { json: JSON.parse(text) };
  } catch {
    return { text };
  }
}

function payloadText(p: Payload): string {
  if ('empty' in p) return '<empty>';
  if ('binary' in p) return `<${p.binary} bytes, binary>`;
  if ('text' in p) return clip(JSON.stringify(p.text));
  return clip(JSON.stringify(p.json));
}

function describeChannel(key: string, c: unknown): string | undefined {
  if (!isObject(c)) return undefined;
  const name = c.name ? ` ${str(c.name)}` : '';
  const state = c.state ? ` (${str(c.state)})` : '';
  const caller = isObject(c.caller) && typeof c.caller.number === 'string' && c.caller.number ? ` caller=${value(c.caller.number)}` : '';
  return `${key}=${str(c.id)}${name}${state}${caller}`;
}

/** Fields of ARI events worth a look, in the order they are shown, besides channels and bridges. */
const EVENT_FIELDS = ['dialstatus', 'dialstring', 'cause', 'cause_txt', 'soft', 'digit', 'duration_ms', 'dialplan_app', 'dialplan_app_data', 'eventname', 'application'];
/** Bookkeeping every event carries; never what a line is about. */
const EVENT_NOISE = new Set(['type', 'timestamp', 'asterisk_id', 'application']);

/** An ARI event's type, then what it is about: channels, bridge, args, the type's own fields. */
export function describeAriEvent(e: Json): string {
  const parts: string[] = [];
  for (const key of ['channel', 'peer', 'caller', 'replace_channel']) {
    const c = describeChannel(key, e[key]);
    if (c) parts.push(c);
  }
  if (isObject(e.bridge)) {
    const b = e.bridge;
    const members = Array.isArray(b.channels) ? ` [${b.channels.length} channels]` : '';
    parts.push(`bridge=${str(b.id)}${b.bridge_type ? ` ${str(b.bridge_type)}` : ''}${members}`);
  }
  for (const key of ['playback', 'recording']) {
    const o = e[key];
    if (isObject(o)) parts.push(`${key}=${str(o.id ?? o.name)}${o.media_uri ? ` ${str(o.media_uri)}` : ''}${o.state ? ` (${str(o.state)})` : ''}`);
  }
  if (Array.isArray(e.args) && e.args.length > 0) parts.push(`args=${JSON.stringify(e.args)}`);
  if (typeof e.variable === 'string') parts.push(`${e.variable}=${JSON.stringify(e.value ?? '')}`);
  for (const key of EVENT_FIELDS) {
    if (key === 'application' && e.type !== 'ApplicationReplaced') continue;
    if (e[key] !== undefined) parts.push(`${key}=${value(e[key])}`);
  }
  if (parts.length === 0) {
    // A type this does not know: what it carries, as it is.
    const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !EVENT_NOISE.has(k)));
    parts.push(Object.keys(rest).length > 0 ? JSON.stringify(rest) : '(no fields)');
  }
  return clip(parts.join(' '));
}

/** A call event: kind, session, caller, setup time, cause; for media_ready where to connect. */
export function describeCallEvent(e: Json): string {
  const parts = [`call ${str(e.kind)}`.padEnd(NAME_WIDTH), `session=${str(e.sessionId)}`];
  const number = str(e.callerNumber);
  const name = str(e.callerName);
  parts.push(`caller=${number || '(no number)'}${name ? ` ${JSON.stringify(name)}` : ''}`);
  if (typeof e.setupMs === 'number') parts.push(`setup=${round(e.setupMs)} ms`);
  if (e.cause !== undefined) parts.push(`cause=${value(e.cause)}`);
  // chan_websocket server mode: where the media server is to connect (media_ready).
  const media = isObject(e.media) ? e.media : undefined;
  if (e.kind === 'media_ready' && media) parts.push(`connect=${str(media.url) || str(media.connectionId)}`);
  parts.push(`channel=${str(e.channelId)}`);
  return parts.join(' ');
}

const round = (n: number) => (n >= 100 ? Math.round(n) : Math.round(n * 10) / 10);

/** Params as `k=v` pairs (a command's, a request's). */
export function describeParams(p: Payload): string {
  if (!('json' in p) || !isObject(p.json)) return payloadText(p);
  const pairs = Object.entries(p.json).map(([k, v]) => `${k}=${value(v)}`);
  return pairs.length > 0 ? clip(pairs.join(' ')) : '{}';
}

/** A reply envelope: `ok`, `ok id=...`, `ok 12 items`, `not_found (404): Channel not found`; else its JSON. */
export function describeReply(p: Payload): string {
  if (!('json' in p) || !isObject(p.json) || typeof p.json.ok !== 'boolean') return payloadText(p);
  const r = p.json;
  if (r.ok === false) {
    const err = isObject(r.error) ? r.error : {};
    return `${str(err.code) || 'error'}${err.status !== undefined ? ` (${str(err.status)})` : ''}${err.message ? `: ${str(err.message)}` : ''}`;
  }
  if (Array.isArray(r.result)) return `ok ${r.result.length} items`;
  if (isObject(r.result)) {
    const id = r.result.id ?? r.result.sessionId;
    const state = r.result.state ?? r.result.phase;
    return `ok${id !== undefined ? ` id=${str(id)}` : ''}${state !== undefined ? ` (${str(state)})` : ''}`;
  }
  return 'ok';
}

/** Where a line starts: time, then node and the event/command name for the subjects we know. */
function head(msg: TailMessage): { where: string; known: 'event' | 'command' | 'call' | 'status' | undefined } {
  const ev = parseEventSubject(msg.subject);
  if (ev) return { where: `${ev.node} ${ev.type.padEnd(NAME_WIDTH)}`, known: 'event' };
  const cmd = parseCommandSubject(msg.subject);
  if (cmd) return { where: `${cmd.node} ${cmd.command.padEnd(NAME_WIDTH)}`, known: 'command' };
  const parts = msg.subject.split('.');
  if (parts.length === 5 && parts[0] === 'call' && parts[1] === 'event') return { where: `${parts[3]!}`, known: 'call' };
  if (parts.length === 4 && parts[0] === 'ari' && parts[1] === 'status') return { where: `${parts[3]!} ${'gateway'.padEnd(NAME_WIDTH)}`, known: 'status' };
  return { where: msg.subject, known: undefined };
}

/** A message on its own (an event, a status, a publish nobody waits on). */
export function formatMessage(msg: TailMessage): string {
  const { where, known } = head(msg);
  const p = decodePayload(msg.data);
  const json = 'json' in p && isObject(p.json) ? p.json : undefined;
  let body: string;
  if (known === 'event' && json && typeof json.type === 'string') body = describeAriEvent(json);
  else if (known === 'call' && json && typeof json.kind === 'string') body = describeCallEvent(json);
  else if (known === 'status' && json && typeof json.state === 'string') {
    body = `${str(json.instance)} ${json.state}${json.reason ? ` (${str(json.reason)})` : ''}`;
  } else if (known === 'command') body = describeParams(p);
  else body = payloadText(p);
  return `${time(msg.at)} ${where} ${body}`;
}

/**
 * A request with its reply and round trip, or with how long it went unanswered; stamped with
 * when that became known (the reply's arrival), so lines stay in time order.
 */
export function formatExchange(request: TailMessage, reply: { msg: TailMessage; rttMs: number } | { waitedMs: number }): string {
  const { where } = head(request);
  const params = describeParams(decodePayload(request.data));
  if ('msg' in reply) return `${time(reply.msg.at)} ${where} ${params} -> ${describeReply(decodePayload(reply.msg.data))} (${round(reply.rttMs)} ms)`;
  return `${time(new Date(request.at.getTime() + reply.waitedMs))} ${where} ${params} -> no reply within ${Math.round(reply.waitedMs / 1000)} s`;
}

/** `--json`: the message as one JSON object, its payload parsed when it is JSON. */
export function formatJson(msg: TailMessage, extra: Record<string, unknown> = {}): string {
  const p = decodePayload(msg.data);
  const data = 'json' in p ? p.json : 'text' in p ? p.text : 'binary' in p ? { binaryBytes: p.binary } : null;
  return JSON.stringify({ at: msg.at.toISOString(), subject: msg.subject, ...(msg.reply ? { reply: msg.reply } : {}), ...extra, data });
}
