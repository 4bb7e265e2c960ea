/**
 * One human line per log line of the demo's processes (pure): the services write pino JSON (kept
 * as it is in the log files), the demo's terminal shows
 *   21:34:23.911 call-controller-1  WARN  cannot read call state  node=pbx1 err="timeout"
 * The time, the process name the demo gave it, the level, the message, then the fields that say
 * something: not the ones every line of a service carries (service, name, pid, app, instance),
 * and an error as its message and code, never its stack (that stays in the log file).
 */

export interface LogLine {
  /** Level name (`info`, `warn`, ...); `info` for lines that are not pino's. */
  level: string;
  msg: string;
  fields: Record<string, unknown>;
  /** `HH:MM:SS.mmm` (UTC, as the log files have it), when the line has a time. */
  time?: string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Carried by every line of a service (its logger's bindings): the demo names the process instead. */
const BOUND = new Set(['level', 'time', 'pid', 'hostname', 'service', 'name', 'msg', 'app', 'instance', 'v']);
const MAX_VALUE_CHARS = 160;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a pino line, or a JSON status line (`{"status":"listening",...}`); undefined for anything else. */
export function parseLogLine(line: string): LogLine | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const level = typeof json.level === 'number' ? (LEVELS[json.level] ?? String(json.level)) : typeof json.level === 'string' ? json.level : 'info';
  const msg = typeof json.msg === 'string' ? json.msg : typeof json.status === 'string' ? json.status : '';
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!BOUND.has(k) && !(k === 'status' && msg === v)) fields[k] = v;
  const out: LogLine = { level, msg, fields };
  if (typeof json.time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(json.time)) out.time = json.time.slice(11, 23);
  else if (typeof json.time === 'number') out.time = new Date(json.time).toISOString().slice(11, 23);
  return out;
}

/** An error as pino serialises it: its message and code (no stack). */
function describeError(err: unknown): string {
  if (!isObject(err)) return String(err);
  const message = typeof err.message === 'string' && err.message !== '' ? err.message : String(err.type ?? 'error');
  const code = err.code !== undefined && err.code !== message ? ` (${String(err.code)})` : '';
  return `${message}${code}`;
}

function valueText(v: unknown): string {
  let text: string;
  // Timings come as 51.182304999999815: three decimals say it all.
  if (typeof v === 'number' && !Number.isInteger(v)) text = String(Math.round(v * 1000) / 1000);
  else if (typeof v === 'string') text = /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  else if (v === null || typeof v !== 'object') text = String(v);
  else text = JSON.stringify(v);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** `k=v` for each field; errors (`err`, `error` with a message) as their message. */
export function fieldsText(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if ((k === 'err' || k === 'error') && isObject(v) && 'message' in v) parts.push(`${k}=${JSON.stringify(describeError(v))}`);
    else parts.push(`${k}=${valueText(v)}`);
  }
  return parts.join(' ');
}

export interface FormatOptions {
  /** Width the process name is padded to. */
  nameWidth: number;
  /** ANSI colours (a terminal that wants them). */
  color: boolean;
  /** The time to show for a line without one. */
  now(): Date;
}

const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
const LEVEL_COLOR: Record<string, string> = { warn: '33', error: '31', fatal: '31;1', debug: '90', trace: '90' };

/** The terminal line for one output line of process `name`; lines that are not JSON pass through. */
export function formatLogLine(name: string, line: string, opts: FormatOptions): string {
  const parsed = parseLogLine(line);
  const time = parsed?.time ?? opts.now().toISOString().slice(11, 23);
  const who = name.padEnd(opts.nameWidth);
  if (!parsed) return `${time} ${who} ${line}`;
  const level = parsed.level.toUpperCase().padEnd(5);
  const fields = fieldsText(parsed.fields);
  const color = LEVEL_COLOR[parsed.level];
  const head = `${time} ${who} ${color ? paint(opts.color, color, level) : level} ${parsed.msg}`;
  return fields ? `${head}  ${paint(opts.color, '2', fields)}` : head;
}
