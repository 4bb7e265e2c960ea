/**
 * NATS operations per call: a subscriber on `>` (its own connection, in the bench process) sees
 * every message any client sends through the server, while a run of calls goes on. Each
 * message on a subject other than an inbox is one operation of a service (a publish, a request,
 * a KV read or write, an ack, a pull): counted by kind, divided by the calls. Replies (on
 * `_INBOX.`) and a consumer's deliveries (which keep the stored event's subject, with a
 * `$JS.ACK.` reply subject) are counted apart: they answer an operation. What the
 * services do with no calls (status, leases, reconciliation, idle pulls) is counted for as long
 * after the run (up to 10 s, scaled), and subtracted per kind.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { APP } from '@avb/test/harness/stack';
import { connect, type NatsConnection } from 'nats';
import { runCalls } from './call-runs.js';
import { round2 } from './percentiles.js';

export interface OpsResult {
  calls: number;
  rate: number;
  failures: number;
  /** Operations per call (every message on a non-inbox subject), background subtracted. */
  perCall: number;
  byKind: Record<string, number>;
  /** Replies and JetStream deliveries per call (not operations of their own). */
  repliesPerCall: number;
}

const decoder = new TextDecoder();

/** The kind of operation a message is, from its subject (and an ack's payload). */
export function kindOf(subject: string, reply: string, data: Uint8Array): string | undefined {
  // A consumer's delivery keeps the stored message's subject; its reply subject is where the ack goes.
  if (subject.startsWith('_INBOX.') || reply.startsWith('$JS.ACK.')) return undefined;
  if (subject.startsWith('ari.event.')) {
    const type = subject.slice(subject.lastIndexOf('.') + 1);
    return reply ? `event publish, stored with ack (${type})` : 'event publish (other ARI events)';
  }
  if (subject.startsWith('ari.command.')) return 'ARI command request';
  if (subject.startsWith('call.event.')) return 'call event publish';
  if (subject.startsWith('$KV.')) return subject.includes('.session.') ? 'KV write (session pointer)' : 'KV write (call state)';
  if (subject.startsWith('$JS.API.DIRECT.GET.') || subject.startsWith('$JS.API.STREAM.MSG.GET.')) return 'KV read';
  if (subject.startsWith('$JS.API.STREAM.PURGE.')) return 'stream purge (KV key)';
  if (subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.')) return 'pull request';
  if (subject.startsWith('$JS.ACK.')) {
    const text = decoder.decode(data.subarray(0, 8));
    if (text.startsWith('+WPI')) return 'ack: in progress';
    if (text.startsWith('-NAK')) return 'nak';
    if (text.startsWith('+TERM')) return 'term';
    return 'ack';
  }
  if (subject.startsWith('$JS.EVENT.') || subject.startsWith('$SYS.')) return undefined; // the server's own
  if (subject.startsWith('$JS.API.')) return `JetStream API (${subject.split('.').slice(2, 4).join('.')})`;
  return `other (${subject.split('.').slice(0, 2).join('.')})`;
}

class Counter {
  readonly kinds = new Map<string, number>();
  replies = 0;
  add(kind: string | undefined): void {
    if (kind === undefined) this.replies += 1;
    else this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
}

export async function measureNatsOps(sim: AriSimulator, url: string, calls: number, rate: number, holdMs: number): Promise<OpsResult> {
  const nc: NatsConnection = await connect({ servers: url, name: 'bench-ops-counter' });
  let counter = new Counter();
  const sub = nc.subscribe('>', { callback: (err, m) => !err && counter.add(kindOf(m.subject, m.reply ?? '', m.data)) });
  try {
    await nc.flush();
    const runStarted = performance.now();
    const run = await runCalls(sim, { app: APP, rate, count: calls, holdMs });
    await new Promise((r) => setTimeout(r, 1000)); // the last acks and purges
    await nc.flush();
    const during = counter;
    const runMs = performance.now() - runStarted;
    const idleMs = Math.min(runMs, 10_000);
    counter = new Counter();
    await new Promise((r) => setTimeout(r, idleMs));
    await nc.flush();
    const idle = counter;
    const scale = runMs / idleMs;
    const byKind: Record<string, number> = {};
    let total = 0;
    for (const [kind, n] of [...during.kinds].sort((a, b) => b[1] - a[1])) {
      const net = Math.max(0, n - (idle.kinds.get(kind) ?? 0) * scale) / calls;
      if (net < 0.005) continue;
      byKind[kind] = round2(net);
      total += net;
    }
    const why = (r: (typeof run.records)[number]) => r.bridgedAt === undefined ? 'not bridged' : r.bridgeIds.length !== 1 ? `bridges ${r.bridgeIds.length}` : r.mediaChannelIds.length !== 1 ? `media ${r.mediaChannelIds.length}` : r.endedBy !== 'caller' ? `ended by ${r.endedBy}` : 'ok';
    const reasons: Record<string, number> = {};
    for (const reason of run.records.map(why)) reasons[reason] = (reasons[reason] ?? 0) + 1;
    process.stderr.write(`  ops run: ${JSON.stringify(reasons)}, leftovers ${run.leftovers}\n`);
    return {
      calls, rate, failures: run.failures + run.leftovers, perCall: round2(total), byKind,
      repliesPerCall: round2(Math.max(0, during.replies - idle.replies * scale) / calls),
    };
  } finally {
    sub.unsubscribe();
    await nc.close();
  }
}
