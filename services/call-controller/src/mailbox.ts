/**
 * An actor's mailbox: messages are handled one at a time, in arrival order, each to completion
 * (including its awaits) before the next. Closed mailboxes drop what is posted to them.
 */
export class Mailbox<M> {
  private readonly queue: M[] = [];
  private draining = false;
  private closed = false;

  constructor(
    private readonly handle: (message: M) => Promise<void> | void,
    private readonly onError: (err: unknown, message: M) => void,
  ) {}

  post(message: M): void {
    if (this.closed) return;
    this.queue.push(message);
    if (!this.draining) void this.drain();
  }

  /** Messages queued behind the one being handled. */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops accepting messages; what is queued is dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const message = this.queue.shift() as M;
      try {
        await this.handle(message);
      } catch (err) {
        this.onError(err, message);
      }
    }
    this.draining = false;
  }
}
