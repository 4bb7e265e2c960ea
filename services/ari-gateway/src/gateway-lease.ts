/**
 * One gateway per node holds the ARI WebSocket: Asterisk sends an app's events to one socket
 * only (a second one takes the app over), so a standby gateway must wait until the active one
 * is gone. The lease is a key in a KV bucket whose entries expire after the lease TTL (the
 * server's clock decides expiry): the holder renews it with compare-and-set well within the
 * TTL; a standby creates the key as soon as it has expired (or was deleted by a holder that
 * stopped). A holder that cannot renew gives the lease up by itself before the TTL runs out, so
 * two gateways never hold it at once.
 */
import { isKvConflict, type Logger } from '@avb/runtime';

import type { KV } from 'nats';

export interface LeaseOptions {
  kv: KV;
  key: string;
  holder: string;
  ttlMs: number;
  onAcquired(): void;
  onLost(reason: string): void;
  log: Logger;
}

export interface Lease {
  held(): boolean;
  /** Stops trying; a held lease is released at once so a standby takes over without waiting. */
  stop(): Promise<void>;
}

/** Renewals per TTL and the share of the TTL after which an unrenewed holder gives up. */
const RENEWS_PER_TTL = 4;
const FENCE_SHARE = 0.75;

export function startLease(opts: LeaseOptions): Lease {
  const { kv, key, holder, ttlMs, log } = opts;
  let revision = 0;
  let held = false;
  let stopped = false;
  /** Bumped on every loss: a renewal that completes after its lease was given up is ignored. */
  let term = 0;
  let tickTimer: NodeJS.Timeout | undefined;
  let fenceTimer: NodeJS.Timeout | undefined;
  /** The renewal or acquisition in flight: stop() waits for it, so it releases the newest revision. */
  let inFlight: Promise<void> | undefined;
  const value = new TextEncoder().encode(holder);
  const tickMs = Math.max(50, Math.floor(ttlMs / RENEWS_PER_TTL));

  const lose = (reason: string) => {
    if (!held) return;
    held = false;
    revision = 0;
    term += 1;
    clearTimeout(fenceTimer);
    log.warn({ reason }, 'gateway lease lost');
    opts.onLost(reason);
  };

  /** Gives the lease up before the server can expire it, unless a renewal sent after `sentAt` lands. */
  const armFence = (sentAt: number) => {
    clearTimeout(fenceTimer);
    fenceTimer = setTimeout(() => lose('lease not renewed in time'), Math.max(0, sentAt + ttlMs * FENCE_SHARE - Date.now()));
  };

  const tick = async () => {
    if (stopped) return;
    const sentAt = Date.now();
    const myTerm = term;
    try {
      if (held) {
        const rev = await kv.update(key, value, revision);
        if (held && term === myTerm) {
          revision = rev;
          armFence(sentAt);
          const tookMs = Date.now() - sentAt;
          if (tookMs > tickMs) log.warn({ tookMs, ttlMs }, 'gateway lease renewal was slow; the lease is given up when renewals take most of its TTL');
        }
      } else {
        const rev = await kv.create(key, value);
        if (stopped) {
          await kv.delete(key, { previousSeq: rev }).catch(() => undefined);
          return;
        }
        revision = rev;
        held = true;
        armFence(sentAt);
        log.info({ key }, 'gateway lease acquired');
        opts.onAcquired();
      }
    } catch (err) {
      if (held && term === myTerm && isKvConflict(err)) lose('another gateway holds the lease');
      else if (!isKvConflict(err)) log.debug({ err }, 'lease request failed');
    } finally {
      if (!stopped) tickTimer = setTimeout(run, tickMs);
    }
  };
  const run = () => {
    inFlight = tick().finally(() => (inFlight = undefined));
  };
  run();

  return {
    held: () => held,
    async stop() {
      stopped = true;
      clearTimeout(tickTimer);
      // A renewal in flight would leave the revision we delete with stale: the delete would
      // conflict and the standby would wait out a whole TTL.
      await inFlight;
      clearTimeout(fenceTimer);
      if (!held) return;
      held = false;
      await kv.delete(key, { previousSeq: revision }).catch((err: unknown) => log.warn({ err }, 'cannot release the gateway lease; it expires by itself'));
    },
  };
}
