/**
 * One readable line per NATS message (pure): time, subject, then a summary. ARI events show
 * their type and the ids and states that matter; anything else shows as compact JSON, cut to a
 * width, and non-JSON payloads as text or a byte count.
 */

export interface TailMessage {
  subject: string;
  data: Uint8Array;
  /** Set when the sender waits for an answer (a command). */
  reply?: string | undefined;
  at: Date;
}

const MAX_CHARS = 240;
const decoder = new TextDecoder('utf-8', { fatal: true });

const clip = (text: string, max = MAX_CHARS) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const time = (d: Date) => d.toISOString().slice(11, 23);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeChannel(c: unknown): string | undefined {
  if (!isObject(c)) return undefined;
  const caller = isObject(c.caller) && typeof c.caller.number === 'string' && c.caller.number ? ` from ${String(c.caller.number)}` : '';
  return `channel=${String(c.id)} ${String(c.name ?? '')} (${String(c.state ?? '?')})${caller}`;
}

/** The summary of an ARI event: its type, then channel, bridge, args, cause, variable. */
function describeAriEvent(e: Json): string {
  const parts = [String(e.type)];
  const channel = describeChannel(e.channel);
  if (channel) parts.push(channel);
  if (isObject(e.bridge)) parts.push(`bridge=${String(e.bridge.id)}`);
  if (Array.isArray(e.args) && e.args.length > 0) parts.push(`args=${JSON.stringify(e.args)}`);
  if (e.cause !== undefined) parts.push(`cause=${String(e.cause)}`);
  if (typeof e.variable === 'string') parts.push(`${e.variable}=${JSON.stringify(e.value ?? '')}`);
  return parts.join(' ');
}

export function formatMessage(msg: TailMessage): string {
  let body: string;
  let text: string | undefined;
  try {
    text = decoder.decode(msg.data);
  } catch {
    text = undefined;
  }
  if (text === undefined) body = `<${msg.data.length} bytes, binary>`;
  else if (text.length === 0) body = '<empty>';
  else {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json === undefined) body = JSON.stringify(clip(text));
    else if (msg.subject.startsWith('ari.event.') && isObject(json) && typeof json.type === 'string') body = describeAriEvent(json);
    else body = JSON.stringify(json);
  }
  // Relayed events carry a reply subject too: where the event stream's storage ack goes.
  const request = msg.reply !== undefined && msg.reply !== '' && !msg.subject.startsWith('ari.event.');
  return `${time(msg.at)} ${msg.subject}${request ? ' (request)' : ''}  ${clip(body)}`;
}
