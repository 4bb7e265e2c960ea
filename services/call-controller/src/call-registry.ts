/**
 * The calls this instance is working on right now (setting up or tearing down; established
 * calls live only in the shared state), by channel, and who waits for which media channel to
 * enter Stasis. Keys are `<node>/<channelId>`: channel ids are unique only within one Asterisk.
 */
import type { CallActor } from './call-actor.js';

interface MediaWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

const key = (node: string, channelId: string) => `${node}/${channelId}`;

export class CallRegistry {
  private readonly byChannel = new Map<string, CallActor>();
  private readonly mediaWaiters = new Map<string, MediaWaiter>();
  private readonly calls = new Set<CallActor>();

  add(actor: CallActor): void {
    this.calls.add(actor);
    this.byChannel.set(key(actor.node, actor.channelId), actor);
    this.byChannel.set(key(actor.node, actor.externalChannelId), actor);
  }

  remove(actor: CallActor): void {
    this.calls.delete(actor);
    this.byChannel.delete(key(actor.node, actor.channelId));
    this.byChannel.delete(key(actor.node, actor.externalChannelId));
    this.mediaWaiters.delete(key(actor.node, actor.externalChannelId));
  }

  get(node: string, channelId: string): CallActor | undefined {
    return this.byChannel.get(key(node, channelId));
  }

  get size(): number {
    return this.calls.size;
  }

  waitingForMedia(): boolean {
    return this.mediaWaiters.size > 0;
  }

  all(): IterableIterator<CallActor> {
    return this.calls.values();
  }

  /**
   * Resolves when the media channel's own StasisStart arrives. Must be called before the
   * externalMedia request is sent: Asterisk emits that StasisStart before it replies.
   */
  waitForMedia(node: string, channelId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const k = key(node, channelId);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.mediaWaiters.delete(k);
      };
      const onAbort = () => {
        done();
        reject(new Error('aborted while waiting for the media channel'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`media channel did not enter Stasis within ${timeoutMs} ms`));
      }, timeoutMs);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.mediaWaiters.set(k, {
        resolve: () => {
          done();
          resolve();
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
    });
  }

  /** A StasisStart arrived; true when it was a media channel this instance waited for. */
  mediaEntered(node: string, channelId: string): boolean {
    const waiter = this.mediaWaiters.get(key(node, channelId));
    waiter?.resolve();
    return waiter !== undefined;
  }
}
