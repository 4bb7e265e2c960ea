/** What a call needs to know to set itself up and tear itself down (ids chosen up front). */
import type { ControllerConfig } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import type { AriCommands } from './ari-commands.js';
import type { CallRegistry } from './call-registry.js';
import type { CallStore } from './call-store.js';
import type { CallerAction } from './call-teardown.js';

export interface MediaSettings {
  externalHost: string;
  format: string;
  encapsulation: 'audiosocket' | 'rtp';
  transport: 'tcp' | 'udp';
  stasisTimeoutMs: number;
}

export function mediaSettings(config: ControllerConfig): MediaSettings {
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

/** An event whose effect cannot be recorded now (state store unreachable, a race) comes back after this. */
export const RETRY_LATER_MS = 1000;

export interface CallIds {
  app: string;
  node: string;
  /** The caller's channel. */
  channelId: string;
  bridgeId: string;
  /** The externalMedia channel; equal to the session id (see isMediaStasisStart). */
  externalChannelId: string;
  sessionId: string;
}

export interface CallContext {
  commands: AriCommands;
  registry: CallRegistry;
  store: CallStore;
  media: MediaSettings;
  /** What happens to the caller when the media server cannot be reached. */
  mediaFailureAction: Exclude<CallerAction, 'none'>;
  /** This controller instance (the `owner` it writes into call state). */
  instance: string;
  /** The durable consumers' ack wait: deliveries in progress are kept alive well within it. */
  ackWaitMs: number;
  log: Logger;
}
