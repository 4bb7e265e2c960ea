/**
 * docker-compose.cluster.yml kept correct without docker: the three NATS servers' configs as
 * their containers render them (docker/nats/entrypoint.sh with cluster.conf appended), run on the
 * real nats-server on loopback with the compose ports remapped, must form one JetStream cluster
 * that holds a 3-replica stream; the services must be given all three servers and 3 replicas.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ControllerConfig, GatewayConfig, parseConfig } from '@avb/contracts';
import { connect, type JetStreamManager } from 'nats';
import { composeServices, readRepo, renderNatsConf, serviceEnv } from './compose-files.js';
import { freePort, waitUntil } from './harness/util.js';
import { startOn, type Server } from './rendered-nats.js';

const FILE = 'docker-compose.cluster.yml';
const SERVERS = ['nats', 'nats-2', 'nats-3'];
const DOTENV = {
  NATS_GATEWAY_PASSWORD: '12345678', NATS_CONTROLLER_PASSWORD: 'c pw', NATS_HEALTH_PASSWORD: 'h', NATS_OBSERVER_PASSWORD: 'o',
  ARI_PASSWORD: 'a', SIP_PASSWORD: 's',
};

describe(FILE, () => {
  const services = composeServices(FILE);
  const base = composeServices();

  it('gives the services all three servers and 3 replicas, which their configs accept', () => {
    const urls = SERVERS.map((s) => `nats://${s}:4222`).join(',');
    for (const name of ['ari-gateway', 'call-controller', 'health', 'nats-box']) {
      assert.equal(services[name]?.environment?.NATS_URL, urls, `${name} NATS_URL`);
      assert.ok(base[name], `${name} is a service of docker-compose.yml`);
    }
    for (const [name, schema] of [['ari-gateway', GatewayConfig], ['call-controller', ControllerConfig]] as const) {
      const env = { ...serviceEnv(base[name]!, DOTENV), ...serviceEnv(services[name]!, DOTENV) };
      assert.equal(env.JETSTREAM_REPLICAS, '3', `${name} JETSTREAM_REPLICAS`);
      const parsed = parseConfig(schema, env);
      assert.ok(parsed.ok, `${name}: ${parsed.ok ? '' : parsed.problems.join('; ')}`);
      assert.equal(parsed.config.JETSTREAM_REPLICAS, 3);
      assert.equal(parsed.config.nats.servers.length, 3);
    }
    const volumes = SERVERS.map((s) => services[s]?.volumes?.find((v) => v.endsWith(':/data')));
    assert.equal(new Set(volumes).size, 3, `each server its own volume: ${volumes.join(' ')}`);
  });

  it('stops each server in lame duck mode, for longer than its lame duck period', () => {
    const lameDuckS = Number(/^lame_duck_duration: "(\d+)s"$/m.exec(readRepo('docker/nats/cluster.conf'))?.[1]);
    assert.ok(lameDuckS >= 30, 'cluster.conf sets lame_duck_duration (nats-server refuses less than 30 s)');
    for (const name of SERVERS) {
      assert.equal(services[name]?.stop_signal, 'SIGUSR2', `${name}: leaderships handed over before it stops`);
      const graceS = Number(/^(\d+)s$/.exec(services[name]?.stop_grace_period ?? '')?.[1]);
      assert.ok(graceS > lameDuckS, `${name}: stop_grace_period ${graceS} s outlasts the lame duck period ${lameDuckS} s`);
    }
  });

  it('renders three configs that form a JetStream cluster on the real nats-server and hold a 3-replica stream', async () => {
    const ports = await Promise.all(SERVERS.map(async () => ({ client: await freePort(), route: await freePort() })));
    const running: Server[] = [];
    try {
      const rendered = await Promise.all(SERVERS.map((s) => renderNatsConf(serviceEnv(services[s]!, DOTENV))));
      for (const [i, r] of rendered.entries()) {
        assert.ok(r.ok && r.conf, `${SERVERS[i]}: ${r.stderr}`);
        assert.match(r.conf, new RegExp(`NATS_SERVER_NAME: "${SERVERS[i] === 'nats' ? 'nats-1' : SERVERS[i]}"`));
        // Compose's network names and ports, remapped to loopback.
        let conf = r.conf.replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${ports[i]!.route}`);
        for (const [j, host] of SERVERS.entries()) conf = conf.replace(`nats-route://${host}:6222`, `nats-route://127.0.0.1:${ports[j]!.route}`);
        assert.doesNotMatch(conf, /:6222/, 'every route remapped');
        rendered[i] = { ...r, conf };
      }
      running.push(...await Promise.all(rendered.map((r, i) => startOn(r.conf!, r.dir, {}, ports[i]!.client))));
      const nc = await connect({ servers: running.map((s) => s.url), user: 'gateway', pass: DOTENV.NATS_GATEWAY_PASSWORD });
      try {
        // Until the three have elected a meta leader, JetStream does not answer.
        let jsm: JetStreamManager | undefined;
        await waitUntil(async () => (jsm = await nc.jetstreamManager({ timeout: 1000 }).catch(() => undefined)) !== undefined, 20_000, 'JetStream on the cluster');
        await waitUntil(() => jsm!.streams.add({ name: 'CLUSTER_CHECK', subjects: ['ari.event.check.>'], num_replicas: 3 }).then(() => true, () => false), 20_000, 'a 3-replica stream created');
        await waitUntil(async () => {
          const info = await jsm!.streams.info('CLUSTER_CHECK');
          return info.cluster?.leader !== undefined && info.cluster.replicas?.length === 2 && info.cluster.replicas.every((r) => r.current);
        }, 20_000, 'the stream led by one server, current on the other two');
        const { cluster } = await jsm!.streams.info('CLUSTER_CHECK');
        const names = new Set([cluster!.leader, ...cluster!.replicas!.map((r) => r.name)]);
        assert.deepEqual([...names].sort(), ['nats-1', 'nats-2', 'nats-3']);
      } finally {
        await nc.close();
      }
    } finally {
      await Promise.all(running.map((s) => s.stop()));
    }
  });

  it('refuses a cluster server without a usable name', async () => {
    const env = { ...serviceEnv(services['nats-2']!, DOTENV), NATS_SERVER_NAME: 'bad name' };
    const r = await renderNatsConf(env);
    await rm(r.dir, { recursive: true, force: true });
    assert.equal(r.ok, false);
    assert.match(r.stderr, /NATS_SERVER_NAME/);
  });
});
