/**
 * Docker cannot run here, so this checks the compose stack's wiring from its files: services,
 * ports, env names against the config schemas, healthchecks and start order, scaling, the
 * Dockerfiles and Asterisk config; and runs the real nats-server on docker/nats/nats.conf to
 * check its users' permissions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControllerConfig, GatewayConfig, HealthConfig } from '@avb/contracts';
import { connect, RequestStrategy, type NatsConnection } from 'nats';
import { parse } from 'yaml';
import { natsServerBinary } from './harness/nats-server.js';
import { reapOnExit } from './harness/reaper.js';
import { repoRoot } from './harness/services.js';
import { freePort, sleep, waitUntil } from './harness/util.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; disable?: boolean };
  container_name?: string;
  hostname?: string;
  volumes?: string[];
}

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
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
};

describe('docker-compose.yml', () => {
  it('has every service the README names, and only those', () => {
    const readme = read('README.md');
    const section = /^## Run it with Docker Compose$([\s\S]*?)^## /m.exec(readme)?.[1];
    assert.ok(section, 'README section "Run it with Docker Compose"');
    const named = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(named, ['ari-gateway', 'asterisk', 'audiosocket', 'call-controller', 'health', 'nats', 'nats-box']);
    assert.deepEqual(Object.keys(services).sort(), named);
  });

  it('runs NATS with JetStream and monitoring from the repo config', () => {
    const nats = svc('nats');
    assert.deepEqual(nats.command, ['-c', '/etc/nats/nats.conf']);
    assert.ok(nats.volumes?.includes('./docker/nats/nats.conf:/etc/nats/nats.conf:ro'));
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
    assert.deepEqual(deps('call-controller'), ['audiosocket', 'nats']);
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

  it('publishes health on 9000, SIP, RTP and ARI (loopback only)', () => {
    assert.ok(svc('health').ports?.includes('9000:9000'));
    assert.equal(svc('health').environment?.HEALTH_PORT, '9000');
    const a = svc('asterisk').ports ?? [];
    assert.ok(a.includes('5060:5060/udp'));
    assert.ok(a.includes('127.0.0.1:8088:8088'));
    const rtp = a.find((p) => p.startsWith('10000-'));
    const conf = read('docker/asterisk/conf/rtp.conf');
    const start = /^rtpstart = (\d+)$/m.exec(conf)?.[1];
    const end = /^rtpend = (\d+)$/m.exec(conf)?.[1];
    assert.equal(rtp, `${start}-${end}:${start}-${end}/udp`);
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

  it('builds Asterisk from Alpine\'s package with our config', () => {
    const file = read('docker/asterisk/Dockerfile');
    assert.match(file, /^FROM alpine:/m);
    assert.match(file, /apk add --no-cache asterisk\b/);
    assert.match(file, /^COPY docker\/asterisk\/conf\/ /m);
    assert.equal(svc('asterisk').build?.dockerfile, 'docker/asterisk/Dockerfile');
    const conf = (f: string) => read(`docker/asterisk/conf/${f}`);
    assert.match(conf('http.conf'), /^enabled = yes$/m);
    assert.match(conf('http.conf'), /^bindport = 8088$/m);
    assert.match(conf('ari.conf'), /^\[@ARI_USER@\]$/m);
    assert.match(conf('ari.conf'), /^password = @ARI_PASSWORD@$/m);
    assert.match(conf('ari.conf'), /^enabled = yes$/m);
    const ext = conf('extensions.conf');
    assert.match(ext, /Stasis\(@ARI_APP@\)/);
    assert.match(ext, /GotoIf\(\$\["\$\{STASISSTATUS\}" = "FAILED"\]\?unavailable\)/);
    assert.match(ext, /n\(unavailable\),/);
    // ';' starts a comment in Asterisk config: no statement line may hold one.
    for (const line of ext.split('\n')) if (!line.startsWith(';')) assert.ok(!line.includes(';'), `comment inside a statement: ${line}`);
    const pjsip = conf('pjsip.conf');
    assert.match(pjsip, /^type = transport\nprotocol = udp\nbind = 0\.0\.0\.0:5060$/m);
    const context = /^type = endpoint$[\s\S]*?^context = (\S+)$/m.exec(pjsip)?.[1];
    assert.ok(context && ext.includes(`[${context}]`), `the endpoint's context ${context} is in extensions.conf`);
    assert.ok(existsSync(join(repoRoot, 'docker/asterisk/conf/modules.conf')));
    // Every placeholder is filled in by the entrypoint, from a variable compose sets.
    const entry = read('docker/asterisk/entrypoint.sh');
    const placeholders = new Set(['modules.conf', 'http.conf', 'rtp.conf', 'extensions.conf', 'pjsip.conf', 'ari.conf']
      .flatMap((f) => [...conf(f).matchAll(/@([A-Z_]+)@/g)].map((m) => m[1]!)));
    for (const p of placeholders) {
      assert.ok(entry.includes(`s|@${p}@|`), `entrypoint fills @${p}@`);
      assert.ok(svc('asterisk').environment?.[p], `compose sets ${p} for asterisk`);
    }
  });
});

describe('docker/nats/nats.conf on a real nats-server', () => {
  const passwords = { gateway: 'gw-pw-1', controller: 'cc-pw-2', health: 'hl-pw-3', observer: 'ob-pw-4' };
  let url: string;
  let storeDir: string;
  let stop: () => void = () => undefined;
  const conns: NatsConnection[] = [];
  const as = async (user: keyof typeof passwords) => {
    const nc = await connect({ servers: url, user, pass: passwords[user] });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    const port = await freePort();
    storeDir = await mkdtemp(join(tmpdir(), 'avb-compose-nats-'));
    // The repo's config as it is, but storing JetStream in a temp dir instead of the volume.
    const conf = read('docker/nats/nats.conf');
    assert.match(conf, /store_dir: "\/data\/jetstream"/);
    const confFile = join(storeDir, 'nats.conf');
    await writeFile(confFile, conf.replace('/data/jetstream', join(storeDir, 'js')));
    const proc = spawn(natsServerBinary(), ['-c', confFile, '-a', '127.0.0.1', '-p', String(port), '-m', '0'], {
      env: {
        NATS_GATEWAY_PASSWORD: passwords.gateway, NATS_CONTROLLER_PASSWORD: passwords.controller,
        NATS_HEALTH_PASSWORD: passwords.health, NATS_OBSERVER_PASSWORD: passwords.observer,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    reapOnExit(proc);
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    stop = () => proc.kill('SIGKILL');
    url = `nats://127.0.0.1:${port}`;
    await waitUntil(async () => {
      if (proc.exitCode !== null) throw new Error(`nats-server refused the config: ${stderr}`);
      return connect({ servers: url, user: 'observer', pass: passwords.observer }).then((nc) => nc.close().then(() => true), () => false);
    }, 10_000, 'nats-server with docker/nats/nats.conf');
  });
  after(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    stop();
    await rm(storeDir, { recursive: true, force: true });
  });

  it('refuses a wrong password', async () => {
    await assert.rejects(connect({ servers: url, user: 'gateway', pass: 'wrong' }));
  });

  it('lets only the controller send ARI commands, the gateway publish events, the observer watch', async () => {
    const observer = await as('observer');
    const seen: string[] = [];
    observer.subscribe('ari.>', { callback: (_e, m) => seen.push(m.subject) });
    observer.subscribe('call.>', { callback: (_e, m) => seen.push(m.subject) });
    await observer.flush();
    const attempts: Array<[keyof typeof passwords, string]> = [
      ['gateway', 'ari.event.ai_app.pbx1.StasisStart'],
      ['gateway', 'ari.status.ai_app.pbx1'],
      ['gateway', 'ari.command.ai_app.pbx1.channels.hangup'],
      ['controller', 'ari.command.ai_app.pbx1.channels.answer'],
      ['controller', 'call.event.ai_app.pbx1.started'],
      ['controller', 'ari.event.ai_app.pbx1.Forged'],
      ['health', 'ari.command.ai_app.pbx1.channels.list'],
      ['observer', 'ari.command.ai_app.pbx1.bridges.list'],
    ];
    for (const [user, subject] of attempts) {
      const nc = await as(user);
      nc.publish(subject, new TextEncoder().encode('{}'));
      await nc.flush();
    }
    await sleep(300);
    assert.deepEqual(seen.sort(), [
      'ari.command.ai_app.pbx1.channels.answer',
      'ari.event.ai_app.pbx1.StasisStart',
      'ari.status.ai_app.pbx1',
      'call.event.ai_app.pbx1.started',
    ]);
  });

  it('lets the gateway serve commands and the health service discover instances, with JetStream on', async () => {
    const gateway = await as('gateway');
    const svc = await gateway.services.add({ name: 'ari-gateway', version: '0.1.0' });
    svc.addEndpoint('commands', { subject: 'ari.command.ai_app.pbx1.>', handler: (_e, m) => m.respond(new TextEncoder().encode('{"ok":true}')) });
    const controller = await as('controller');
    const reply = await controller.request('ari.command.ai_app.pbx1.channels.list', new TextEncoder().encode('{}'), { timeout: 2000 });
    assert.equal(new TextDecoder().decode(reply.data), '{"ok":true}');
    const health = await as('health');
    const found: string[] = [];
    for await (const s of await health.services.client({ maxWait: 500, strategy: RequestStrategy.Timer }).stats('ari-gateway')) found.push(s.name);
    assert.deepEqual(found, ['ari-gateway']);
    const jsm = await controller.jetstreamManager();
    assert.ok((await jsm.getAccountInfo()).limits);
    await svc.stop();
  });
});
