// Asterisk-looking ids and timestamps, so clients parsing them see what a real server sends.

/** `2026-11-24T00:03:35.068+0000`: Asterisk's ISO form, always UTC with a `+0000` offset. */
export function ariTime(ms: number = Date.now()): string {
  // A call emits about twenty events within the same millisecond or so: format each ms once.
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = new Date(ms).toISOString().replace('Z', '+0000');
  }
  return lastTime;
}

let lastMs = Number.NaN;
let lastTime = '';

let uniqueSeq = 0;

/** Asterisk unique ids are `<epoch seconds>.<global counter>`; the counter alone keeps them unique. */
export function nextUniqueId(): string {
  uniqueSeq += 1;
  return `${Math.floor(Date.now() / 1000)}.${uniqueSeq}`;
}

let localSeq = 0;

/** The `;2` half of a Local channel running Stasis() from the dialplan, as in the recordings. */
export function nextLocalChannelName(exten: string, context: string): string {
  localSeq += 1;
  return `Local/${exten}@${context}-${localSeq.toString(16).padStart(8, '0')};2`;
}

let rtpSeq = 0;

/** UnicastRTP names end in a pointer-like hex tag (`-0x7f8e480014b0`). */
export function nextRtpTag(): string {
  rtpSeq += 1;
  return `0x${(0x7f8e48000000 + rtpSeq * 0x10).toString(16)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}
