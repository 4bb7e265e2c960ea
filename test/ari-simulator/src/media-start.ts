// MEDIA_START as a media server reads it, in either control format (the first text frame).

export interface MediaStartFields {
  connectionId: string;
  channel: string;
  channelId: string;
  format: string;
  optimalFrameSize: number;
  ptime: number;
  /** True for `transport_data=f(json)`; then channelVariables is filled too. */
  json: boolean;
  channelVariables?: Record<string, string>;
}

/** undefined when `text` is not a MEDIA_START. */
export function parseMediaStart(text: string): MediaStartFields | undefined {
  if (text.startsWith('MEDIA_START ')) {
    const fields = new Map<string, string>();
    for (const part of text.slice('MEDIA_START '.length).split(' ')) {
      const colon = part.indexOf(':');
      if (colon > 0) fields.set(part.slice(0, colon), part.slice(colon + 1));
    }
    return {
      connectionId: fields.get('connection_id') ?? '',
      channel: fields.get('channel') ?? '',
      channelId: fields.get('channel_id') ?? '',
      format: fields.get('format') ?? '',
      optimalFrameSize: Number(fields.get('optimal_frame_size') ?? 0),
      ptime: Number(fields.get('ptime') ?? 0),
      json: false,
    };
  }
  if (!text.startsWith('{')) return undefined;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (m.event !== 'MEDIA_START') return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const vars = m.channel_variables;
  return {
    connectionId: str(m.connection_id),
    channel: str(m.channel),
    channelId: str(m.channel_id),
    format: str(m.format),
    optimalFrameSize: typeof m.optimal_frame_size === 'number' ? m.optimal_frame_size : 0,
    ptime: typeof m.ptime === 'number' ? m.ptime : 0,
    json: true,
    ...(vars !== null && typeof vars === 'object' ? { channelVariables: vars as Record<string, string> } : {}),
  };
}
