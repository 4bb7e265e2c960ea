/**
 * One look at the system through NATS: is the connection alive, and what does every gateway and
 * controller instance answer to `$SRV.STATS.<service>` within `waitMs`. An instance that hangs
 * simply does not answer in time, so a discovery never takes longer than `waitMs` (plus a tick).
 */
import { ControllerStatsData, GatewayStatsData, ServiceStatsReply, decodeJson, subjects } from '@avb/contracts';
import { settlesWithin } from '@avb/runtime';
import { Empty, RequestStrategy, type NatsConnection } from 'nats';
import type { z } from 'zod';

export const Service = { Gateway: 'ari-gateway', Controller: 'call-controller' } as const;
export type Service = (typeof Service)[keyof typeof Service];

export interface Answer<D> {
  id: string;
  version: string;
  /** When the instance's service started (ISO 8601). */
  started: string;
  metadata: Record<string, string>;
  /** The validated stats data; undefined when it did not match the contract (see `invalid`). */
  data: D | undefined;
  invalid?: string;
}

export interface Snapshot {
  /** Date.now() when the discovery started. */
  at: number;
  natsConnected: boolean;
  gateways: Answer<GatewayStatsData>[];
  controllers: Answer<ControllerStatsData>[];
}

export async function discover(nc: NatsConnection | undefined, waitMs: number): Promise<Snapshot> {
  const at = Date.now();
  if (!nc || nc.isClosed()) return { at, natsConnected: false, gateways: [], controllers: [] };
  const [natsConnected, gateways, controllers] = await Promise.all([
    isReachable(nc, waitMs),
    collect(nc, Service.Gateway, GatewayStatsData, waitMs),
    collect(nc, Service.Controller, ControllerStatsData, waitMs),
  ]);
  if (!natsConnected) return { at, natsConnected, gateways: [], controllers: [] };
  return { at, natsConnected, gateways, controllers };
}

/** A flush is a round trip to the server; while NATS is away it would wait for the reconnect. */
async function isReachable(nc: NatsConnection, waitMs: number): Promise<boolean> {
  let flushed = false;
  const settled = await settlesWithin(nc.flush().then(() => (flushed = true)), waitMs);
  return settled && flushed;
}

async function collect<S extends z.ZodType>(nc: NatsConnection, service: Service, schema: S, waitMs: number): Promise<Answer<z.output<S>>[]> {
  const found = new Map<string, Answer<z.output<S>>>();
  try {
    // Raw replies, each decoded on its own: one broken responder must not hide the others.
    const replies = await nc.requestMany(subjects.serviceStats(service), Empty, { maxWait: waitMs, strategy: RequestStrategy.Timer });
    for await (const msg of replies) {
      const reply = decodeJson(ServiceStatsReply, msg.data);
      if (reply && reply.name === service) found.set(reply.id, toAnswer(reply, schema));
    }
  } catch {
    // No responders: no instance of that service answers; the report names it.
  }
  return [...found.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function toAnswer<S extends z.ZodType>(stats: ServiceStatsReply, schema: S): Answer<z.output<S>> {
  const base = { id: stats.id, version: stats.version, started: stats.started, metadata: stats.metadata ?? {} };
  const parsed = schema.safeParse(stats.endpoints?.[0]?.data);
  if (parsed.success) return { ...base, data: parsed.data };
  const issue = parsed.error.issues[0];
  return { ...base, data: undefined, invalid: `stats do not match the contract: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim() };
}
