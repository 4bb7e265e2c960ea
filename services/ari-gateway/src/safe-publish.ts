/**
 * Core NATS publishing that never throws into the caller (the ARI WebSocket handler): a frame
 * larger than the server's max_payload or a closed connection is dropped and counted. While
 * NATS is unreachable, nats.js keeps what is published in its outbound buffer and sends it on
 * reconnect; that buffer has no limit of its own, so this one bounds it by bytes and counts
 * what did not fit.
 */
import type { Logger } from '@avb/runtime';
import { rateLimitedWarn } from '@avb/runtime';
import type { NatsConnection, PublishOptions } from 'nats';

export const PublishFailure = {
  TooLarge: 'too_large',
  BufferFull: 'nats_down_buffer_full',
  Closed: 'closed',
  Error: 'error',
} as const;
export type PublishFailure = (typeof PublishFailure)[keyof typeof PublishFailure];

export type Publish = (subject: string, data: Uint8Array, options?: PublishOptions) => void;

export interface SafePublishOptions {
  nc: NatsConnection;
  /** Bytes kept for NATS while it is unreachable; more than this is dropped and counted. */
  maxBufferedBytes: number;
  onFailed(reason: PublishFailure): void;
  log: Logger;
}

export function createSafePublish({ nc, maxBufferedBytes, onFailed, log }: SafePublishOptions): Publish {
  const warn = rateLimitedWarn(log, 'cannot publish on NATS, message dropped');
  let down = false;
  let buffered = 0;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        down = true;
        buffered = 0;
      } else if (s.type === 'reconnect') {
        down = false;
        buffered = 0;
      }
    }
  })();

  const fail = (reason: PublishFailure, subject: string, bytes: number) => {
    onFailed(reason);
    warn(reason, { subject, bytes, ...(reason === PublishFailure.BufferFull ? { maxBufferedBytes } : {}) });
  };

  return (subject, data, options) => {
    if (down) {
      if (buffered + data.length > maxBufferedBytes) return fail(PublishFailure.BufferFull, subject, data.length);
      buffered += data.length;
    }
    try {
      nc.publish(subject, data, options);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      fail(code === 'MAX_PAYLOAD_EXCEEDED' ? PublishFailure.TooLarge : code === 'CONNECTION_CLOSED' ? PublishFailure.Closed : PublishFailure.Error, subject, data.length);
    }
  };
}
