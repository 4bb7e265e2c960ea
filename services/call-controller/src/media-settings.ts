/** The externalMedia settings of every call, from the controller's config. */
import type { ControllerConfig } from '@avb/contracts';
import type { MediaSettings } from './call-machine.js';

export function mediaSettings(config: ControllerConfig): MediaSettings {
  // An IPv6 literal goes in brackets, as ARI wants `external_host` (host:port).
  const host = config.AUDIOSOCKET_HOST.includes(':') && !config.AUDIOSOCKET_HOST.startsWith('[')
    ? `[${config.AUDIOSOCKET_HOST}]`
    : config.AUDIOSOCKET_HOST;
  return {
    externalHost: `${host}:${config.AUDIOSOCKET_PORT}`,
    format: config.EXTERNAL_MEDIA_FORMAT,
    encapsulation: config.EXTERNAL_MEDIA_ENCAPSULATION,
    transport: config.EXTERNAL_MEDIA_TRANSPORT,
    stasisTimeoutMs: config.MEDIA_STASIS_TIMEOUT_MS,
  };
}
