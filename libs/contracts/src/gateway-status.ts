/** The gateway's ARI connection state, published on `ari.status.<app>.<node>` when it changes. */
import { z } from 'zod';

/** `standby`: another gateway of the node holds the lease and the ARI socket; this one waits. */
export const AriConnectionState = z.enum(['standby', 'connecting', 'connected', 'disconnected', 'replaced', 'stopped']);
export type AriConnectionState = z.infer<typeof AriConnectionState>;

export const GatewayStatus = z.strictObject({
  app: z.string(),
  node: z.string(),
  instance: z.string(),
  state: AriConnectionState,
  /** When `state` began (ISO 8601). */
  since: z.string(),
  /** Why the state changed, when it is not the happy path (no secrets). */
  reason: z.string().optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatus>;

/** On `ari.status.<app>.<node>.reconnected`: this gateway's NATS connection was lost and is back. */
export const GatewayReconnected = z.strictObject({
  app: z.string(),
  node: z.string(),
  instance: z.string(),
  /** When the connection came back (ISO 8601). */
  at: z.string(),
});
export type GatewayReconnected = z.infer<typeof GatewayReconnected>;
