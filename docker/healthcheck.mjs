// Container healthcheck for the NATS services (ari-gateway, call-controller): healthy when this
// container's instance answers `$SRV.PING.<service>` within 2 s. The services put
// `<hostname>-<pid>...` in their metadata `instance`, and the hostname is the container's.
// Usage: node healthcheck.mjs <service-name>
import { hostname } from 'node:os';
import { connect, RequestStrategy } from 'nats';

const service = process.argv[2];
const env = process.env;
const opts = { servers: (env.NATS_URL || 'nats://127.0.0.1:4222').split(','), name: 'healthcheck', timeout: 2000 };
if (env.NATS_USER) Object.assign(opts, { user: env.NATS_USER, pass: env.NATS_PASSWORD ?? '' });
if (env.NATS_TOKEN) Object.assign(opts, { token: env.NATS_TOKEN });

let healthy = false;
try {
  const nc = await connect(opts);
  const replies = await nc.services.client({ maxWait: 2000, strategy: RequestStrategy.Timer }).ping(service);
  for await (const r of replies) if ((r.metadata?.instance ?? '').startsWith(hostname())) healthy = true;
  await nc.close();
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
}
process.exit(healthy ? 0 : 1);
