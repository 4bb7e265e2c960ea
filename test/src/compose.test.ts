/**
 * Docker cannot run here, so this checks the compose stack's wiring from its files: services,
 * ports, env names against the config schemas, healthchecks and start order, scaling and the
 * Dockerfiles. The rendered configs run on real programs in compose-nats.test.ts (nats-server),
 * compose-asterisk.test.ts (Asterisk's files, structurally) and compose-sipp.test.ts (sipp).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ControllerConfig, GatewayConfig, HealthConfig } from '@avb/contracts';
import { composeServices, interpolate, readRepo as read } from './compose-files.js';
import { repoRoot } from './harness/services.js';

const services = composeServices();
const svc = (name: string) => {
  const s = services[name];
  assert.ok(s, `compose service ${name}`);
  return s;
};

/** The env names a config schema reads (a transformed schema reads its input object's keys). */
function schemaKeys(schema: unknown): Set<string> {
  const s = schema as { shape?: Record<string, unknown>; in?: { shape?: Record<string, unknown> } };
  const shape = s.shape ?? s.in?.shape;
  assert.ok(shape, 'a zod object schema');
  return new Set(Object.keys(shape));
}

/** Node services built from the one Dockerfile, with the schema their env must match. */
const NODE_SERVICES: Record<string, Set<string>> = {
  'ari-gateway': schemaKeys(GatewayConfig),
  'call-controller': schemaKeys(ControllerConfig),
  health: schemaKeys(HealthConfig),
  // The AudioSocket echo server reads only these (test/ari-simulator/src/echo-main.ts).
  audiosocket: new Set(['AUDIOSOCKET_HOST', 'AUDIOSOCKET_PORT']),
  // And the WebSocket one (test/ari-simulator/src/websocket-echo-main.ts).
  'websocket-echo': new Set(['WS_ECHO_HOST', 'WS_ECHO_PORT']),
};

describe('docker-compose.yml', () => {
  it('has every service docs/compose.md names, and only those; the README links there', () => {
    assert.match(read('README.md'), /\(docs\/compose\.md\)/);
    const doc = read('docs/compose.md');
    const section = /^## Services$([\s\S]*?)^## /m.exec(doc)?.[1];
    assert.ok(section, 'docs/compose.md section "Services"');
    const named = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(named, ['ari-gateway', 'asterisk', 'audiosocket', 'call-controller', 'health', 'nats', 'nats-box', 'websocket-echo']);
    assert.deepEqual(Object.keys(services).sort(), named);
  });

  it('runs NATS with JetStream and monitoring from the repo config, rendered by its entrypoint', () => {
    const nats = svc('nats');
    assert.match(nats.image ?? '', /^nats:2\.10-alpine$/, 'the alpine image: the entrypoint needs a shell');
    assert.deepEqual(nats.entrypoint, ['/bin/sh', '/etc/nats/entrypoint.sh']);
    assert.ok(nats.volumes?.includes('./docker/nats/nats.conf:/etc/nats/nats.conf:ro'));
    assert.ok(nats.volumes?.includes('./docker/nats/entrypoint.sh:/etc/nats/entrypoint.sh:ro'));
    assert.match(read('docker/nats/entrypoint.sh'), /NATS_CONF_TEMPLATE:=\/etc\/nats\/nats\.conf/);
    const conf = read('docker/nats/nats.conf');
    assert.match(conf, /^jetstream \{/m);
    assert.match(conf, /^http_port: 8222$/m);
    assert.ok(nats.ports?.some((p) => p.endsWith(':4222')) && nats.ports.some((p) => p.endsWith(':8222')));
    assert.match(JSON.stringify(nats.healthcheck?.test), /healthz\?js-enabled-only=true/);
  });

  it('gives every service a healthcheck, and starts each after what it needs is healthy', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.healthcheck && !s.healthcheck.disable && s.healthcheck.test.length > 0, `${name} healthcheck`);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on unknown ${dep}`);
        assert.equal(condition, 'service_healthy', `${name} -> ${dep}`);
      }
    }
    const deps = (name: string) => Object.keys(svc(name).depends_on ?? {}).sort();
    assert.deepEqual(deps('ari-gateway'), ['asterisk', 'nats']);
    // Controllers after the gateway, which makes the event stream they consume.
    assert.deepEqual(deps('call-controller'), ['ari-gateway', 'audiosocket', 'nats', 'websocket-echo']);
    assert.deepEqual(deps('health'), ['nats']);
    assert.deepEqual(deps('nats-box'), ['nats']);
    // No cycle: everything can be ordered.
    const done = new Set<string>();
    for (let round = 0; round < Object.keys(services).length; round++) {
      for (const name of Object.keys(services)) if (deps(name).every((d) => done.has(d))) done.add(name);
    }
    assert.equal(done.size, Object.keys(services).length);
  });

  it('lets the controller scale: no fixed name, host name or published port', () => {
    const c = svc('call-controller');
    assert.equal(c.container_name, undefined);
    assert.equal(c.hostname, undefined);
    assert.equal(c.ports, undefined);
    for (const [name, s] of Object.entries(services)) assert.equal(s.container_name, undefined, `${name} container_name`);
  });

  it('publishes SIP and RTP on every interface, health, ARI and NATS on loopback by default', () => {
    const published = (name: string, env: Record<string, string> = {}) => (svc(name).ports ?? []).map((p) => interpolate(p, env));
    assert.deepEqual(published('health'), ['127.0.0.1:9000:9000']);
    assert.deepEqual(published('health', { HEALTH_BIND: '0.0.0.0' }), ['0.0.0.0:9000:9000']);
    assert.equal(svc('health').environment?.HEALTH_PORT, '9000');
    assert.deepEqual(published('nats'), ['127.0.0.1:4222:4222', '127.0.0.1:8222:8222']);
    assert.deepEqual(published('asterisk'), ['5060:5060/udp', '10000-10099:10000-10099/udp', '127.0.0.1:8088:8088']);
    // The published RTP range is the one compose hands Asterisk for rtp.conf (checked rendered in
    // compose-asterisk.test.ts).
    const env = { RTP_PORT_START: '20000', RTP_PORT_END: '20199' };
    assert.ok(published('asterisk', env).includes('20000-20199:20000-20199/udp'));
    assert.equal(interpolate(svc('asterisk').environment!.RTP_PORT_START!, env), '20000');
    assert.equal(interpolate(svc('asterisk').environment!.RTP_PORT_END!, env), '20199');
  });

  it('uses only env names the config schemas know, and wires services to each other by name', () => {
    for (const [name, known] of Object.entries(NODE_SERVICES)) {
      for (const key of Object.keys(svc(name).environment ?? {})) {
        assert.ok(known.has(key), `${name}: ${key} is not in its config schema`);
      }
    }
    for (const name of ['ari-gateway', 'call-controller', 'health']) {
      assert.equal(svc(name).environment?.NATS_URL, 'nats://nats:4222', name);
      assert.ok(svc(name).environment?.NATS_USER, `${name} has its own NATS user`);
    }
    const gw = svc('ari-gateway').environment!;
    assert.equal(gw.ARI_BASE_URL, 'http://asterisk:8088/ari');
    assert.equal(gw.ARI_PASSWORD, svc('asterisk').environment?.ARI_PASSWORD);
    assert.equal(gw.ARI_USER, svc('asterisk').environment?.ARI_USER);
    const cc = svc('call-controller').environment!;
    assert.ok(services[cc.AUDIOSOCKET_HOST!], 'AUDIOSOCKET_HOST names a compose service');
    assert.equal(cc.AUDIOSOCKET_PORT, svc('audiosocket').environment?.AUDIOSOCKET_PORT);
    // A config schema must accept what compose sets (defaults for ${...} references).
    const resolved = (env: Record<string, string>) => Object.fromEntries(Object.entries(env)
      .map(([k, v]) => [k, v.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1').replace(/\$\{[A-Z0-9_]+:\?[^}]*\}/g, 'x')]));
    assert.ok(GatewayConfig.safeParse(resolved(gw)).success);
    assert.ok(ControllerConfig.safeParse(resolved(cc)).success);
    // EXTERNAL_MEDIA_TRANSPORT alone switches the stack to chan_websocket, in either mode.
    const ws = (dotenv: Record<string, string>) => ControllerConfig.safeParse(Object.fromEntries(Object.entries(cc)
      .map(([k, v]) => [k, interpolate(v.replace(/\$\{[A-Z0-9_]+:\?[^}]*\}/g, 'x'), dotenv)])));
    for (const dotenv of [{ EXTERNAL_MEDIA_TRANSPORT: 'websocket' }, { EXTERNAL_MEDIA_TRANSPORT: 'websocket', EXTERNAL_MEDIA_CONNECTION: 'server' }]) {
      const parsed = ws(dotenv);
      assert.ok(parsed.success, `${JSON.stringify(dotenv)}: ${parsed.error?.message}`);
      assert.equal(parsed.data.EXTERNAL_MEDIA_ENCAPSULATION, 'none');
    }
    // Client mode dials the echo server compose runs, by default.
    assert.equal(interpolate(svc('asterisk').environment!.MEDIA_WEBSOCKET_URI!, {}), `ws://websocket-echo:${svc('websocket-echo').environment?.WS_ECHO_PORT}/media`);
    assert.ok(HealthConfig.safeParse(resolved(svc('health').environment!)).success);
  });

  it('takes every secret from .env, and .env.example documents every setting it uses', () => {
    const text = read('docker-compose.yml');
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|TOKEN|SECRET/.test(key)) assert.match(value, /^\$\{[A-Z0-9_]+:\?[^}]+\}$/, `${name}.${key} must come from .env`);
      }
    }
    const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)[:}]/g)].map((m) => m[1]!));
    const example = read('.env.example');
    const lines = example.split('\n');
    const documented = new Map<string, boolean>();
    lines.forEach((line, i) => {
      const m = /^([A-Z0-9_]+)=/.exec(line);
      if (!m) return;
      let j = i - 1;
      while (j >= 0 && /^[A-Z0-9_]+=/.test(lines[j]!)) j -= 1;
      documented.set(m[1]!, j >= 0 && lines[j]!.startsWith('#'));
    });
    for (const v of used) assert.equal(documented.get(v), true, `.env.example documents ${v}`);
    for (const v of documented.keys()) assert.ok(used.has(v), `.env.example's ${v} is used by docker-compose.yml`);
  });
});

describe('Dockerfiles', () => {
  it('builds each Node service with one multi-stage recipe: pnpm deploy, node:22-alpine, non-root, an init', () => {
    const file = read('docker/node-service.Dockerfile');
    assert.ok((file.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(file, /^ARG NODE_IMAGE=node:22-alpine$/m);
    assert.match(file, /^FROM \$\{NODE_IMAGE\}$/m);
    assert.match(file, /pnpm install --frozen-lockfile/);
    assert.match(file, /pnpm --filter "\.\/\$PACKAGE_DIR" deploy --prod/);
    const user = /^USER (\S+)$/m.exec(file)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', 'runs as a non-root user');
    assert.match(file, /^ENTRYPOINT \["\/sbin\/tini", "--"\]$/m);
    assert.ok(existsSync(join(repoRoot, 'docker/healthcheck.mjs')));
    for (const name of Object.keys(NODE_SERVICES)) {
      const build = svc(name).build;
      assert.equal(build?.dockerfile, 'docker/node-service.Dockerfile', name);
      assert.equal(build.context, '.');
      const dir = build.args?.PACKAGE_DIR;
      assert.ok(dir && existsSync(join(repoRoot, dir, 'package.json')), `${name}: PACKAGE_DIR ${dir}`);
      const main = (build.args?.MAIN ?? 'dist/main.js').replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
      assert.ok(existsSync(join(repoRoot, dir, main)), `${name}: ${dir}/${main}`);
    }
    const ignore = read('.dockerignore');
    for (const entry of ['**/node_modules', '**/dist', '.env', '.git']) assert.ok(ignore.split('\n').includes(entry), entry);
  });
});
