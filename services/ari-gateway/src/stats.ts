/**
 * The gateway's counters, exposed through the NATS services API (`$SRV.STATS.ari-gateway`).
 * Labels are low-cardinality on purpose: event types (bounded), drop reasons, command names;
 * never ids.
 */
import type { CommandName, ErrorCode } from '@avb/contracts';

/** More distinct event types than Asterisk has means someone is inventing them; fold the rest. */
const MAX_EVENT_TYPES = 256;
const OTHER = '_other';
/** Upper bounds of the ARI request latency buckets, in ms. */
export const ARI_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] as const;

/** Prometheus-style histogram: cumulative counts keyed by upper bound (ms) and `+Inf`. */
export interface MsHistogram {
  count: number;
  sum: number;
  buckets: Record<string, number>;
}

export interface CommandCounters {
  ok: number;
  error: number;
  /** Errors by reply code. */
  codes: Partial<Record<ErrorCode, number>>;
  /** Latency of the ARI HTTP requests made for this command (not of refused ones). */
  latencyMsSum: number;
  latencyCount: number;
  /** The same latencies as histograms, by outcome (`ok` or the error code). */
  latencyMs: Partial<Record<'ok' | ErrorCode, MsHistogram>>;
}

export interface GatewayStats {
  relayed(type: string): void;
  dropped(reason: string): void;
  reconnected(): void;
  commandDone(command: CommandName, outcome: 'ok' | ErrorCode, ariLatencyMs?: number): void;
  unknownCommand(): void;
  publishFailed(reason: string): void;
  snapshot(): StatsSnapshot;
}

export interface StatsSnapshot {
  eventsRelayed: Record<string, number>;
  framesDropped: Record<string, number>;
  /** Reconnect attempts after the first connection attempt. */
  reconnects: number;
  commands: Partial<Record<CommandName, CommandCounters>>;
  /** Requests on the command subject for a command that does not exist. */
  unknownCommands: number;
  /** Events (and status messages) that could not be published on NATS, by reason. */
  publishFailed: Record<string, number>;
}

export function createGatewayStats(): GatewayStats {
  const eventsRelayed = new Map<string, number>();
  const framesDropped = new Map<string, number>();
  const commands = new Map<CommandName, CommandCounters>();
  let reconnects = 0;
  let unknownCommands = 0;
  const publishFailed = new Map<string, number>();

  return {
    relayed(type) {
      const seen = eventsRelayed.get(type);
      if (seen !== undefined) eventsRelayed.set(type, seen + 1);
      else if (eventsRelayed.size < MAX_EVENT_TYPES) eventsRelayed.set(type, 1);
      else eventsRelayed.set(OTHER, (eventsRelayed.get(OTHER) ?? 0) + 1);
    },
    dropped(reason) {
      framesDropped.set(reason, (framesDropped.get(reason) ?? 0) + 1);
    },
    reconnected() {
      reconnects += 1;
    },
    commandDone(command, outcome, ariLatencyMs) {
      let c = commands.get(command);
      if (!c) {
        c = { ok: 0, error: 0, codes: {}, latencyMsSum: 0, latencyCount: 0, latencyMs: {} };
        commands.set(command, c);
      }
      if (outcome === 'ok') c.ok += 1;
      else {
        c.error += 1;
        c.codes[outcome] = (c.codes[outcome] ?? 0) + 1;
      }
      if (ariLatencyMs !== undefined) {
        c.latencyMsSum += ariLatencyMs;
        c.latencyCount += 1;
        observe((c.latencyMs[outcome] ??= emptyHistogram()), ariLatencyMs);
      }
    },
    unknownCommand() {
      unknownCommands += 1;
    },
    publishFailed(reason) {
      publishFailed.set(reason, (publishFailed.get(reason) ?? 0) + 1);
    },
    snapshot() {
      return {
        eventsRelayed: Object.fromEntries(eventsRelayed),
        framesDropped: Object.fromEntries(framesDropped),
        reconnects,
        commands: Object.fromEntries([...commands].map(([k, v]) => [k, {
          ...v,
          codes: { ...v.codes },
          latencyMs: Object.fromEntries(Object.entries(v.latencyMs).map(([o, h]) => [o, { ...h, sum: round3(h.sum), buckets: { ...h.buckets } }])),
        }])),
        unknownCommands,
        publishFailed: Object.fromEntries(publishFailed),
      };
    },
  };
}

function emptyHistogram(): MsHistogram {
  return { count: 0, sum: 0, buckets: Object.fromEntries([...ARI_LATENCY_BUCKETS_MS.map(String), '+Inf'].map((le) => [le, 0])) };
}

function observe(h: MsHistogram, ms: number): void {
  h.count += 1;
  h.sum += ms;
  for (const le of ARI_LATENCY_BUCKETS_MS) if (ms <= le) h.buckets[String(le)]! += 1;
  h.buckets['+Inf']! += 1;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
