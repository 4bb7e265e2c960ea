/**
 * health composition root: an h3 server on HEALTH_PORT with GET /health (NATS connection and the
 * gateway/controller instances that answer) and GET /health/live (the process is up). It starts
 * serving before NATS is reachable, so /health can say "down".
 */
import { HealthConfig } from '@avb/contracts';
import { connectNats, createLogger, loadConfigOrExit, onShutdown, settlesWithin } from '@avb/runtime';
import { H3, serve } from 'h3';
import type { NatsConnection } from 'nats';
import { discoverInstances } from './discovery.js';
import { buildReport, type HealthReport } from './health-report.js';

const SERVICE = 'health';
/** Answers are reused this long, so hundreds of requests per second cost one discovery. */
const CACHE_MS = 1000;
const DISCOVERY_WAIT_MS = 500;

const config = loadConfigOrExit(SERVICE, HealthConfig, process.env);
const log = createLogger(SERVICE, config.LOG_LEVEL);
let nc: NatsConnection | undefined;
let cached: { at: number; report: Promise<HealthReport> } | undefined;

async function check(): Promise<HealthReport> {
  const conn = nc;
  if (!conn || conn.isClosed()) return buildReport(false, []);
  // A flush is a round trip to the server; while NATS is away it would wait for the reconnect.
  let flushed = false;
  const answered = await settlesWithin(conn.flush().then(() => (flushed = true)), DISCOVERY_WAIT_MS);
  if (!answered || !flushed) return buildReport(false, []);
  return buildReport(true, await discoverInstances(conn, DISCOVERY_WAIT_MS));
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const app = new H3()
  .get('/health/live', () => json({ status: 'ok' }))
  .get('/health', async () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) cached = { at: Date.now(), report: check() };
    const report = await cached.report;
    return json(report, report.status === 'ok' ? 200 : 503);
  });

const server = serve(app, { port: config.HEALTH_PORT, hostname: config.HEALTH_HOST, silent: true });
await server.ready();
log.info({ port: config.HEALTH_PORT }, 'listening');
connectNats({ nats: config.nats, name: SERVICE, log }).then(
  (conn) => {
    nc = conn;
    log.info('ready');
  },
  (err: unknown) => log.error({ err }, 'cannot connect to NATS'),
);

onShutdown(log, async () => {
  await server.close();
  await nc?.drain();
});
