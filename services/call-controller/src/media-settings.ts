/** The externalMedia settings of every call, from the controller's config (validated there). */
import { parseMediaUrls, type ControllerConfig } from '@avb/contracts';
import type { MediaSettings } from './media-plan.js';

export function mediaSettings(config: ControllerConfig): MediaSettings {
  const common = { format: config.EXTERNAL_MEDIA_FORMAT, slowMs: config.MEDIA_DEGRADED_AFTER_MS };
  if (config.EXTERNAL_MEDIA_TRANSPORT === 'websocket') {
    // With chan_websocket the wait for the media channel includes its socket's connection.
    const ws = { ...common, transport: 'websocket', encapsulation: 'none', stasisTimeoutMs: config.MEDIA_CONNECT_TIMEOUT_MS } as const;
    if (config.EXTERNAL_MEDIA_CONNECTION === 'client') return { ...ws, connection: 'client', clientId: config.EXTERNAL_MEDIA_WEBSOCKET_CLIENT! };
    const urls = parseMediaUrls(config.EXTERNAL_MEDIA_WEBSOCKET_URL ?? '');
    return { ...ws, connection: 'server', urls: urls.ok ? urls.urls : {} };
  }
  // An IPv6 literal goes in brackets, as ARI wants `external_host` (host:port).
  const host = config.AUDIOSOCKET_HOST.includes(':') && !config.AUDIOSOCKET_HOST.startsWith('[')
    ? `[${config.AUDIOSOCKET_HOST}]`
    : config.AUDIOSOCKET_HOST;
  const pair = config.EXTERNAL_MEDIA_TRANSPORT === 'udp'
    ? { transport: 'udp', encapsulation: 'rtp' } as const
    : { transport: 'tcp', encapsulation: 'audiosocket' } as const;
  return { ...common, ...pair, externalHost: `${host}:${config.AUDIOSOCKET_PORT}`, stasisTimeoutMs: config.MEDIA_STASIS_TIMEOUT_MS };
}
