/**
 * health composition root: an h3 server on HEALTH_PORT with
 *   GET /health/live  the process is up (container liveness)
 *   GET /health       200 `ok` / 503 `degraded` or `down`, every instance found (see health-report.ts)
 *   GET /metrics      Prometheus text, aggregated over the instances (see metrics.ts)
 * Both read one cached discovery over the NATS services API (`$SRV.STATS`). It serves before
 * NATS is reachable, so /health can say "down".
 */
import { STATUS_CODES } from 'node:http';
import { HealthConfig } from '@avb/contracts';
import { runService } from '@avb/runtime';
import { H3, serve } from 'h3';
import type { NatsConnection } from 'nats';
import { cached } from './cached.js';
import { discover } from './discovery.js';
import { buildReport, HealthStatus } from './health-report.js';
import { createInstanceMemory } from './instance-memory.js';
import { viewInstances } from './instance-view.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';

const SERVICE = 'health';
const NO_STORE = { 'cache-control': 'no-store' };
const JSON_TYPE = { 'content-type': 'application/json', ...NO_STORE };
/** With its reason phrase (`HTTP/1.1 503 Service Unavailable`): a Response has none unless given. */
const respond = (body: string, status: number, headers: Record<string, string>) =>
  new Response(body, { status, statusText: STATUS_CODES[status] ?? '', headers });

runService({
  name: SERVICE,
  schema: HealthConfig,
  nats: (config) => config.nats,
  stopTimeoutMs: () => 10_000,
  async start({ config, log, connect, fatal }) {
    const memory = createInstanceMemory(config.HEALTH_FORGET_AFTER_S * 1000);
    let nc: NatsConnection | undefined;
    let lastStatus: HealthStatus | undefined;

    const current = cached(async () => {
      const snapshot = await discover(nc, config.HEALTH_DISCOVERY_WAIT_MS);
      const answering = viewInstances(snapshot);
      const missing = snapshot.natsConnected ? memory.update(answering, snapshot.at) : [];
      const report = buildReport(snapshot, answering, missing);
      if (report.status !== lastStatus) {
        // One line per change of verdict, not per request.
        if (report.status === HealthStatus.Ok) log.info({ status: report.status, previous: lastStatus }, 'health changed');
        else log.warn({ status: report.status, previous: lastStatus, problems: report.problems }, 'health changed');
        lastStatus = report.status;
      }
      return {
        health: { status: report.status === HealthStatus.Ok ? 200 : 503, body: JSON.stringify(report) },
        metrics: await renderMetrics(snapshot),
      };
    }, config.HEALTH_CACHE_MS);

    const app = new H3()
      .get('/health/live', () => respond('{"status":"ok"}', 200, JSON_TYPE))
      .get('/health', async () => {
        const { health } = await current();
        return respond(health.body, health.status, JSON_TYPE);
      })
      .get('/metrics', async () => {
        const { metrics } = await current();
        return respond(metrics, 200, { 'content-type': METRICS_CONTENT_TYPE, ...NO_STORE });
      })
      .all('/**', (event) => respond(JSON.stringify({ status: 404, message: `no route ${event.url.pathname}` }), 404, JSON_TYPE));

    const server = serve(app, { port: config.HEALTH_PORT, hostname: config.HEALTH_HOST, silent: true });
    await server.ready();
    log.info({ port: config.HEALTH_PORT, host: config.HEALTH_HOST }, 'listening');
    // Serving before NATS answers, so /health can say "down"; refused credentials are fatal.
    connect(SERVICE).then(
      (conn) => {
        nc = conn;
        log.info('ready');
      },
      (err: unknown) => fatal(err, 'cannot connect to NATS'),
    );
    return async () => {
      await server.close(true);
    };
  },
});
