/**
 * docker/nats/nats.conf as the nats container gets it: rendered by docker/nats/entrypoint.sh from
 * the passwords compose passes in, then run on the real nats-server. Every password of an awkward
 * set (numbers, booleans, dates, spaces, quotes, `#`, `$`, unicode) must start the server, let its
 * user in and keep each user's permissions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, RequestStrategy, type NatsConnection } from 'nats';
import { composeServices, renderNatsConf, readRepo, serviceEnv } from './compose-files.js';
import { sleep, waitUntil } from './harness/util.js';
import { startOn, type Server } from './rendered-nats.js';

const USERS = ['gateway', 'controller', 'health', 'observer'] as const;
type User = (typeof USERS)[number];
type Passwords = Record<User, string>;

/** Values nats-server would read as something other than a string, or not parse, unquoted. */
const AWKWARD = [
  '12345678', '0012', 'true', 'off', '2024-01-01', '12e4abcd', 'with space', 'hash#tag',
  ' lead and trail ', 'semi;colon', 'double"quote', "single'quote", 'back\\slash', 'dollar$SIGN',
  '${NATS_HEALTH_PASSWORD}', 'braces{}[]', 'a,b:c=d', '// not a comment', '-1.5e3', 'null',
  'yes', 'tab\there', 'ünïcødé €', '$2a$x-not-a-hash',
];

/** The env compose gives the nats container, for a given set of passwords. */
function natsEnv(p: Passwords): Record<string, string> {
  return serviceEnv(composeServices().nats!, {
    NATS_GATEWAY_PASSWORD: p.gateway, NATS_CONTROLLER_PASSWORD: p.controller,
    NATS_HEALTH_PASSWORD: p.health, NATS_OBSERVER_PASSWORD: p.observer,
  });
}

async function startRendered(p: Passwords): Promise<Server> {
  const rendered = await renderNatsConf(natsEnv(p));
  assert.ok(rendered.ok && rendered.conf, `entrypoint.sh rendered nats.conf: ${rendered.stderr}`);
  for (const value of Object.values(p)) assert.ok(!rendered.stderr.includes(value), 'no password on stderr');
  return startOn(rendered.conf, rendered.dir);
}

/** Who may publish what: only the controller sends commands, the observer only watches. */
async function assertPermissions(url: string, p: Passwords): Promise<void> {
  const conns: NatsConnection[] = [];
  const as = async (user: User) => {
    const nc = await connect({ servers: url, user, pass: p[user], reconnect: false });
    conns.push(nc);
    return nc;
  };
  try {
    const observer = await as('observer');
    const seen: string[] = [];
    observer.subscribe('ari.>', { callback: (_e, m) => seen.push(m.subject) });
    observer.subscribe('call.>', { callback: (_e, m) => seen.push(m.subject) });
    await observer.flush();
    const attempts: Array<[User, string]> = [
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
    await waitUntil(() => seen.length >= 4, 2000, 'the allowed publishes');
    await sleep(100);
    assert.deepEqual(seen.sort(), [
      'ari.command.ai_app.pbx1.channels.answer',
      'ari.event.ai_app.pbx1.StasisStart',
      'ari.status.ai_app.pbx1',
      'call.event.ai_app.pbx1.started',
    ]);
  } finally {
    for (const nc of conns) await nc.close().catch(() => undefined);
  }
}

describe('docker/nats/nats.conf rendered by entrypoint.sh, on a real nats-server', () => {
  for (let i = 0; i < AWKWARD.length; i += USERS.length) {
    const p = Object.fromEntries(USERS.map((u, j) => [u, AWKWARD[(i + j) % AWKWARD.length]!])) as Passwords;
    it(`starts, lets each user in and keeps permissions with passwords ${JSON.stringify(Object.values(p))}`, async () => {
      const server = await startRendered(p);
      try {
        for (const user of USERS) {
          const nc = await connect({ servers: server.url, user, pass: p[user], reconnect: false });
          await nc.close();
          await assert.rejects(connect({ servers: server.url, user, pass: `${p[user]}x`, reconnect: false }), `${user}: a wrong password is refused`);
        }
        await assertPermissions(server.url, p);
      } finally {
        await server.stop();
      }
    });
  }

  it('serves commands, discovery and JetStream for the services', async () => {
    const p: Passwords = { gateway: '12345678', controller: 'true', health: '2024-01-01', observer: 'with space' };
    const server = await startRendered(p);
    const conns: NatsConnection[] = [];
    const as = async (user: User) => {
      const nc = await connect({ servers: server.url, user, pass: p[user] });
      conns.push(nc);
      return nc;
    };
    try {
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
    } finally {
      for (const nc of conns) await nc.close().catch(() => undefined);
      await server.stop();
    }
  });

  it('renders the same with busybox, the shell and tools of the nats:2.10-alpine image', { skip: existsSync('/usr/bin/busybox') ? false : 'busybox not installed (apt-get install busybox)' }, async () => {
    const bin = await mkdtemp(join(tmpdir(), 'avb-busybox-'));
    for (const tool of ['sh', 'sed', 'grep', 'printf', 'mkdir', 'cat', 'dirname']) symlinkSync('/usr/bin/busybox', join(bin, tool));
    const p: Passwords = { gateway: '12345678', controller: 'a "q" \\b $x\ttab', health: '2024-01-01', observer: 'with space #h' };
    const a = await renderNatsConf(natsEnv(p));
    const b = await renderNatsConf({ ...natsEnv(p), PATH: bin });
    for (const dir of [a.dir, b.dir, bin]) await rm(dir, { recursive: true, force: true });
    assert.ok(a.ok && b.ok, `${a.stderr} ${b.stderr}`);
    assert.equal(b.conf, a.conf);
  });

  it('refuses, without printing it, a password nats-server could not take as one', async () => {
    const base: Passwords = { gateway: 'g-pw', controller: 'c-pw', health: 'h-pw', observer: 'o-pw' };
    for (const [bad, why] of [['two\nlines', /line break/], ['$2a$10$abcdefghijklmnopqrstuv', /bcrypt/]] as const) {
      const rendered = await renderNatsConf(natsEnv({ ...base, controller: bad }));
      await rm(rendered.dir, { recursive: true, force: true });
      assert.equal(rendered.ok, false, JSON.stringify(bad));
      assert.match(rendered.stderr, /NATS_CONTROLLER_PASSWORD/);
      assert.match(rendered.stderr, why);
      assert.ok(!rendered.stderr.includes(bad), 'the value is not printed');
    }
  });

  it('would not start without the rendering: the bare config reads 12345678 from the environment as a number', async () => {
    // Why the entrypoint exists: the same file given straight to nats-server, as before.
    const dir = await mkdtemp(join(tmpdir(), 'avb-nats-bare-'));
    const env = { NATS_GATEWAY_PASSWORD: '12345678', NATS_CONTROLLER_PASSWORD: 'c', NATS_HEALTH_PASSWORD: 'h', NATS_OBSERVER_PASSWORD: 'o' };
    await assert.rejects(startOn(readRepo('docker/nats/nats.conf'), dir, env), /not string/);
  });
});
