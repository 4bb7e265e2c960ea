/**
 * `pnpm demo` settings, from the same env names the services use, so one variable moves one port
 * everywhere (`HEALTH_PORT=9100 pnpm demo`). Ports left unset go to free loopback ports, except
 * health, which stays on 9000 as the README promises.
 */
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);

export const DemoConfig = z.object({
  /** A reachable NATS here is used as it is; otherwise a nats-server is started (on its port, if it is loopback). */
  NATS_URL: z.string().min(1).optional(),
  /** nats-server binary; default: PATH, then /usr/sbin, /usr/bin, /usr/local/bin. */
  NATS_SERVER_BIN: z.string().min(1).optional(),
  HEALTH_PORT: Port.min(1).default(9000),
  HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  SIM_PORT: Port.default(0),
  AUDIOSOCKET_PORT: Port.default(0),
  SIM_CALL_RATE: z.coerce.number().int().min(0).max(1000).default(2),
  SIM_HOLD_MS: z.coerce.number().int().min(0).max(3_600_000).default(4000),
  DEMO_CONTROLLERS: z.coerce.number().int().min(1).max(16).default(2),
  /** The media side: AudioSocket, or chan_websocket with the simulator dialing the echo server (client) or the echo server connecting (server). */
  DEMO_MEDIA: z.enum(['audiosocket', 'websocket-client', 'websocket-server']).default('audiosocket'),
  ARI_APP: z.string().regex(/^[A-Za-z0-9_-]+$/).default('ai_app'),
  ARI_NODE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('pbx1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the demo keeps its logs and state.json (which `pnpm tail` reads); default `<repo>/.demo`. */
  DEMO_DIR: z.string().min(1).optional(),
  /** Set (to anything): no colours even on a terminal (https://no-color.org). */
  NO_COLOR: z.string().optional(),
  /** Set by ./pnpmw: the commands the demo suggests start with ./pnpmw too. */
  PNPMW: z.string().optional(),
});
export type DemoConfig = z.infer<typeof DemoConfig>;
