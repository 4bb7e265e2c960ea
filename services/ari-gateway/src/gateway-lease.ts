/**
 * One gateway per node holds the ARI WebSocket: Asterisk sends an app's events to one socket
 * only (a second one takes the app over), so a standby gateway must wait until the active one
 * is gone. The lease is a key in a KV bucket whose entries expire after the lease TTL (the
 * server's clock decides expiry): the holder renews it with compare-and-set well within the
 * TTL; a standby creates the key as soon as it has expired (or was deleted by a holder that
 * stopped). A holder that cannot renew gives the lease up by itself before the TTL runs out, so
 * two gateways never hold it at once.
 *
 * On a NATS cluster a renewal may get no answer for a few seconds (the server we were connected
 * to died and we fail over, or the bucket's leader is being elected). Nobody can take the lease
 * then either, so a holder keeps it for `graceMs` past the usual deadline while its renewals get
 * no answer, retrying often. Once one is answered: a renewal that timed out but was stored (the
 * key holds our name at a newer revision) is adopted; a key that expired meanwhile is created
 * again (nobody took it); only a key holding another gateway's name loses the lease. If a
 * standby did take over (this gateway was cut off from NATS, the standby was not), Asterisk
 * moves the app to its newer socket and ours goes silent ("replaced") until the grace ends.
 */
import { isKvConflict, type Logger } from '@avb/runtime';

import type { KV } from 'nats';

export interface LeaseOptions {
  kv: KV;
  key: string;
  holder: string;
  ttlMs: number;
  /** How long past the usual deadline a holder whose renewals get no answer keeps the lease (0: none). */
  graceMs?: number;
  onAcquired(): void;
  /** Hears of every failed request other than a conflict (the bucket may be gone: recreate it). */
  onFailed?(err: unknown): void;
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
/** While requests get no answer, they are retried this many times as often. */
const RETRY_SPEEDUP = 3;

type Claim = 'ours' | 'taken';

export function startLease(opts: LeaseOptions): Lease {
  const { kv, key, holder, ttlMs, log } = opts;
  const graceMs = opts.graceMs ?? 0;
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
  const retryMs = Math.max(50, Math.floor(tickMs / RETRY_SPEEDUP));
  let nextTickMs = tickMs;

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
    fenceTimer = setTimeout(() => lose('lease not renewed in time'), Math.max(0, sentAt + ttlMs * FENCE_SHARE + graceMs - Date.now()));
  };

  /**
   * After a renewal conflict: is the key still ours (a renewal that timed out was stored, so the
   * revision we knew is stale) or free (it expired while renewals got no answer)? Then renewed
   * at the new revision. Any other holder: taken.
   */
  const reclaim = async (): Promise<Claim> => {
    // Twice: the key can expire between our read and our write.
    for (let attempt = 0; attempt < 2; attempt++) {
      const entry = await kv.get(key);
      const exists = entry?.operation === 'PUT';
      if (exists && new TextDecoder().decode(entry.value) !== holder) return 'taken';
      try {
        revision = exists ? await kv.update(key, value, entry.revision) : await kv.create(key, value);
        return 'ours';
      } catch (err) {
        if (!isKvConflict(err)) throw err;
      }
    }
    return 'taken';
  };

  const tick = async () => {
    if (stopped) return;
    const sentAt = Date.now();
    const myTerm = term;
    try {
      if (held) {
        const renewed = await kv.update(key, value, revision).then((rev) => {
          revision = rev;
          return 'ours' as Claim;
        }, (err: unknown) => {
          if (!isKvConflict(err) || !held || term !== myTerm) throw err;
          return reclaim();
        });
        if (renewed === 'taken' && held && term === myTerm) lose('another gateway holds the lease');
        else if (held && term === myTerm) {
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
      nextTickMs = tickMs;
    } catch (err) {
      if (held && term === myTerm && isKvConflict(err)) lose('another gateway holds the lease');
      else if (!isKvConflict(err)) {
        // No answer (NATS failing over, a leader being elected) or the bucket gone: retry soon.
        log.debug({ err }, 'lease request failed');
        opts.onFailed?.(err);
        // A holder retries often, to reclaim its key the moment JetStream answers again; a
        // standby waits a TTL more, so it does not take the key that expired under a holder
        // still connected to Asterisk (that would cost a socket handover for nothing).
        nextTickMs = held ? retryMs : ttlMs + tickMs;
      }
    } finally {
      if (!stopped) tickTimer = setTimeout(run, nextTickMs);
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
