/**
 * When reconciliation runs: for a node whose gateway has just (re)connected to ARI (events may
 * have been lost while it was away), and periodically for every node with calls or seen lately.
 * Gateway status messages come through a queue group, so one instance reacts to each; periodic
 * runs are claimed with a compare-and-set on the node's `reconcile.<node>` entry, so the
 * instances do not all run the same node at once.
 */
import { GatewayStatus, decodeJson, subjects } from '@avb/contracts';
import { reasonOf, type Logger } from '@avb/runtime';
import type { NatsConnection, Subscription } from 'nats';
import type { CallStore } from './call-store.js';
import { reconcileNode, type ReconcileReport, type ReconcilerOptions } from './reconciler.js';

export interface ReconcileSchedulerOptions extends ReconcilerOptions {
  store: CallStore;
  queue: string;
  intervalMs: number;
  /** Wait after a gateway connects, so events already in flight are handled first. */
  afterConnectMs: number;
  onReport(report: ReconcileReport): void;
  /** A run that could not be done (no gateway for the node, the state unreadable). */
  onFailed(): void;
  log: Logger;
}

export interface ReconcileScheduler {
  /** A node seen in an event: reconciled periodically from now on. */
  seen(node: string): void;
  /**
   * The call state was lost (the bucket was found gone and made again): every known node is
   * reconciled once the grace has passed, so what the lost calls hold in Asterisk is cleaned
   * up (or their callers adopted) without waiting for the periodic run.
   */
  stateLost(): void;
  stop(): Promise<void>;
}

export function startReconcileScheduler(nc: NatsConnection, opts: ReconcileSchedulerOptions): ReconcileScheduler {
  const { log } = opts;
  const nodes = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();

  const run = (node: string, why: string): Promise<void> => {
    const current = running.get(node);
    if (current) return current;
    const started = Date.now();
    const p = reconcileNode(node, opts).then(
      (report) => {
        opts.onReport(report);
        const changed = report.callsEnded + report.bridgesRemoved + report.mediaChannelsRemoved + report.callersAdopted > 0;
        log[changed ? 'info' : 'debug']({ ...report, why, ms: Date.now() - started }, 'reconciled');
      },
      // Usually no gateway for the node right now: one line, no stack; the next run tries again.
      (err: unknown) => {
        opts.onFailed();
        log.info({ node, why, reason: reasonOf(err) }, 'reconciliation not possible now; retried at the next run');
      },
    ).finally(() => running.delete(node));
    running.set(node, p);
    return p;
  };

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const statusSub: Subscription = nc.subscribe(subjects.ariStatus(opts.app, '*'), {
    queue: opts.queue,
    callback: (err, msg) => {
      const status = err ? undefined : decodeJson(GatewayStatus, msg.data);
      if (!status) return;
      nodes.add(status.node);
      if (status.state !== 'connected') return;
      later(opts.afterConnectMs, () => void run(status.node, 'gateway connected'));
    },
  });

  const periodic = async () => {
    try {
      for (const node of await opts.store.nodes()) nodes.add(node);
      for (const node of nodes) {
        const last = await opts.store.lastReconciled(node);
        if (Date.now() - last.at < opts.intervalMs * 0.8) continue;
        if (await opts.store.claimReconcile(node, last.revision)) await run(node, 'periodic');
      }
    } catch (err) {
      log.info({ reason: reasonOf(err) }, 'periodic reconciliation not possible now; retried at the next run');
    }
  };
  // Jitter, so instances started together spread their runs.
  const interval = setInterval(() => void periodic(), opts.intervalMs * (0.9 + Math.random() * 0.2));

  return {
    seen: (node) => void nodes.add(node),
    stateLost() {
      later(opts.graceMs + opts.afterConnectMs, () => {
        for (const node of nodes) void run(node, 'call state lost');
      });
    },
    async stop() {
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      await statusSub.drain();
      await Promise.all(running.values());
    },
  };
}
