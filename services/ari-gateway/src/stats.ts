/**
 * The gateway's counters, exposed through the NATS services API (`$SRV.STATS.ari-gateway`).
 * Labels are low-cardinality on purpose: event types (bounded), drop reasons, command names;
 * never ids.
 */
import type { CommandName, ErrorCode, MsHistogram as MsHistogramData } from '@avb/contracts';
import { MsHistogram } from '@avb/runtime';

/** More distinct event types than Asterisk has means someone is inventing them; fold the rest. */
const MAX_EVENT_TYPES = 256;
const OTHER = '_other';
/** Upper bounds of the ARI request latency buckets, in ms. */
export const ARI_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] as const;


export interface CommandCounters {
  ok: number;
  error: number;
  /** Errors by reply code. */
  codes: Partial<Record<ErrorCode, number>>;
  /** Latency of the ARI HTTP requests made for this command (not of refused ones). */
  latencyMsSum: number;
  latencyCount: number;
  /** The same latencies as histograms, by outcome (`ok` or the error code). */
  latencyMs: Partial<Record<'ok' | ErrorCode, MsHistogramData>>;
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
  const commands = new Map<CommandName, Omit<CommandCounters, 'latencyMs'> & { latency: Partial<Record<'ok' | ErrorCode, MsHistogram>> }>();
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
        c = { ok: 0, error: 0, codes: {}, latencyMsSum: 0, latencyCount: 0, latency: {} };
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
        (c.latency[outcome] ??= new MsHistogram(ARI_LATENCY_BUCKETS_MS)).observe(ariLatencyMs);
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
        commands: Object.fromEntries([...commands].map(([k, { latency, ...v }]) => [k, {
          ...v,
          codes: { ...v.codes },
          latencyMs: Object.fromEntries(Object.entries(latency).map(([o, h]) => [o, h.snapshot()])),
        }])),
        unknownCommands,
        publishFailed: Object.fromEntries(publishFailed),
      };
    },
  };
}

