/**
 * NATS authentication and TLS, end to end: the gateway (a real process) connects to a
 * nats-server that requires user/password, a token, or TLS with client certificates, reading its
 * secrets from files; a wrong password gives one clear log line and no secret in any line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AriSimulator } from '@avb/ari-simulator';
import { subjects, type Reply } from '@avb/contracts';
import { connect, credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions, type NatsConnection } from 'nats';
import { collect, sendCommand } from './harness/gateway-client.js';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { makeTestOperator } from './harness/nats-jwt.js';
import { makeTestCerts, type TestCerts } from './harness/tls-certs.js';
import { waitUntil } from './harness/util.js';

const APP = 'ai_app';
const ARI_USER = 'avb';
const ARI_PASSWORD = 'S3cr3t-ari-nats-auth-31';
/** Recognisable secrets: no log line may contain them. */
const GW_NATS_PASSWORD = 'N4ts-gw-pw-9021';
const TEST_NATS_PASSWORD = 'N4ts-test-pw-3344';
const NATS_TOKEN = 'N4ts-t0ken-5150';
const WRONG_PASSWORD = 'N4ts-wr0ng-pw-666';
const SECRETS = [ARI_PASSWORD, GW_NATS_PASSWORD, TEST_NATS_PASSWORD, NATS_TOKEN, WRONG_PASSWORD];

const secretsDir = mkdtempSync(join(tmpdir(), 'avb-nats-auth-'));
const secretFile = (name: string, value: string) => {
  const path = join(secretsDir, name);
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return path;
};

const gatewayEnv = (sim: AriSimulator, node: string, nats: Record<string, string>): Record<string, string> => ({
  ARI_BASE_URL: sim.baseUrl,
  ARI_USER,
  ARI_PASSWORD_FILE: secretFile('ari-password', ARI_PASSWORD),
  ARI_APP: APP,
  ARI_NODE: node,
  ARI_HTTP_TIMEOUT: '1',
  ARI_RECONNECT_MIN_MS: '50',
  LOG_LEVEL: 'debug',
  ...nats,
});

const assertNoSecrets = (proc: ServiceProcess) => {
  assert.ok(proc.lines.length > 0);
  for (const line of proc.lines) for (const secret of SECRETS) assert.ok(!line.raw.includes(secret), `secret in a log line: ${line.raw}`);
};

/** The gateway is up on an authenticated bus: it answers a command and relays an event. */
async function assertGatewayServes(gateway: ServiceProcess, sim: AriSimulator, nc: NatsConnection, node: string) {
  await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
  await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
  const reply: Reply = await sendCommand(nc, subjects.ariCommand(APP, node, 'channels.list'), {});
  assert.equal(reply.ok, true, JSON.stringify(reply));
  const events = collect(nc, subjects.ariEvent(APP, node, 'StasisStart'));
  await nc.flush();
  const call = sim.placeCall();
  await waitUntil(() => events.msgs.some((m) => m.data.includes(`"id":"${call.channelId}"`)), 5000, 'StasisStart relayed');
  events.stop();
  sim.hangup(call.channelId);
  await sim.waitFor(() => sim.channels().length === 0, 5000, 'nothing left');
}

/** Without credentials the server refuses: the auth really is on. */
async function assertRefusesAnonymous(opts: ConnectionOptions) {
  await assert.rejects(connect({ ...opts, reconnect: false, timeout: 2000 }), /Authorization|AUTHORIZATION|TLS|tls/);
}

describe('NATS authentication and TLS', () => {
  let sim: AriSimulator;
  let certs: TestCerts;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD });
    certs = makeTestCerts();
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    await sim?.stop();
    certs?.remove();
    rmSync(secretsDir, { recursive: true, force: true });
  });

  /** Stopped (servers) or closed (connections) after the suite, last first. */
  const track = <T extends NatsServer | NatsConnection>(thing: T): T => {
    cleanups.push(() => ('close' in thing ? thing.close() : thing.stop()));
    return thing;
  };

  it('user/password (password from NATS_PASSWORD_FILE)', async () => {
    const nats: NatsServer = track(await startNatsServer({
      config: `authorization { users = [ { user: gw, password: "${GW_NATS_PASSWORD}" }, { user: test, password: "${TEST_NATS_PASSWORD}" } ] }\n`,
    }));
    await assertRefusesAnonymous({ servers: nats.url });
    const nc = track(await connect({ servers: nats.url, user: 'test', pass: TEST_NATS_PASSWORD }));
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-user', {
      NATS_URL: nats.url, NATS_USER: 'gw', NATS_PASSWORD_FILE: secretFile('nats-password', GW_NATS_PASSWORD),
    }));
    cleanups.push(() => gateway.stop('SIGTERM', 5000));
    await assertGatewayServes(gateway, sim, nc, 'auth-user');
    const connected = await gateway.waitForLog(logMsg('connected to NATS'));
    assert.equal(connected.json?.auth, 'user');
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
  });

  it('token (NATS_TOKEN_FILE)', async () => {
    const nats = track(await startNatsServer({ config: `authorization { token: "${NATS_TOKEN}" }\n` }));
    await assertRefusesAnonymous({ servers: nats.url });
    const nc = track(await connect({ servers: nats.url, token: NATS_TOKEN }));
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-token', {
      NATS_URL: nats.url, NATS_TOKEN_FILE: secretFile('nats-token', NATS_TOKEN),
    }));
    cleanups.push(() => gateway.stop('SIGTERM', 5000));
    await assertGatewayServes(gateway, sim, nc, 'auth-token');
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
  });

  it('TLS with a test CA and a client certificate (tls:// URL, NATS_TLS_*_FILE) plus user/password', async () => {
    const nats = track(await startNatsServer({
      config: [
        `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.caFile}", verify: true, timeout: 2 }`,
        `authorization { users = [ { user: gw, password: "${GW_NATS_PASSWORD}" }, { user: test, password: "${TEST_NATS_PASSWORD}" } ] }`,
        '',
      ].join('\n'),
    }));
    const tlsUrl = `tls://127.0.0.1:${nats.port}`;
    const clientTls = { caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey };
    // Without a client certificate the server refuses the connection.
    await assert.rejects(connect({ servers: tlsUrl, tls: { caFile: certs.caFile }, user: 'test', pass: TEST_NATS_PASSWORD, reconnect: false, timeout: 2000 }));
    const nc = track(await connect({ servers: tlsUrl, tls: clientTls, user: 'test', pass: TEST_NATS_PASSWORD }));
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-tls', {
      NATS_URL: tlsUrl, NATS_USER: 'gw', NATS_PASSWORD: GW_NATS_PASSWORD,
      NATS_TLS_CA_FILE: certs.caFile, NATS_TLS_CERT_FILE: certs.clientCert, NATS_TLS_KEY_FILE: certs.clientKey,
    }));
    cleanups.push(() => gateway.stop('SIGTERM', 5000));
    await assertGatewayServes(gateway, sim, nc, 'auth-tls');
    const connecting = await gateway.waitForLog(logMsg('connecting to NATS'));
    assert.equal(connecting.json?.tls, true);
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
  });

  it('nkey (NATS_NKEY_SEED_FILE)', async () => {
    const gw = nkeys.createUser();
    const tester = nkeys.createUser();
    const pub = (kp: typeof gw) => kp.getPublicKey();
    const nats = track(await startNatsServer({ config: `authorization { users = [ { nkey: ${pub(gw)} }, { nkey: ${pub(tester)} } ] }\n` }));
    await assertRefusesAnonymous({ servers: nats.url });
    const nc = track(await connect({ servers: nats.url, authenticator: nkeyAuthenticator(tester.getSeed()) }));
    const seed = new TextDecoder().decode(gw.getSeed());
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-nkey', {
      NATS_URL: nats.url, NATS_NKEY_SEED_FILE: secretFile('gw.nk', seed),
    }));
    cleanups.push(() => gateway.stop('SIGTERM', 5000));
    await assertGatewayServes(gateway, sim, nc, 'auth-nkey');
    assert.equal((await gateway.waitForLog(logMsg('connected to NATS'))).json?.auth, 'nkey');
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
    for (const line of gateway.lines) assert.ok(!line.raw.includes(seed), `seed in a log line: ${line.raw}`);
  });

  it('creds file (NATS_CREDS) against an operator-mode server', async () => {
    const operator = makeTestOperator();
    const nats = track(await startNatsServer({ config: operator.serverConfig }));
    await assertRefusesAnonymous({ servers: nats.url });
    const tester = operator.userCreds('tester');
    const nc = track(await connect({ servers: nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(tester.creds)) }));
    const gw = operator.userCreds('gateway');
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-creds', {
      NATS_URL: nats.url, NATS_CREDS: secretFile('gw.creds', gw.creds),
    }));
    cleanups.push(() => gateway.stop('SIGTERM', 5000));
    await assertGatewayServes(gateway, sim, nc, 'auth-creds');
    assert.equal((await gateway.waitForLog(logMsg('connected to NATS'))).json?.auth, 'creds');
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
    for (const line of gateway.lines) assert.ok(!line.raw.includes(gw.seed), `seed in a log line: ${line.raw}`);
  });

  it('a wrong password: one clear fatal line, exit non-zero, no secret logged', async () => {
    const nats = track(await startNatsServer({ config: `authorization { users = [ { user: gw, password: "${GW_NATS_PASSWORD}" } ] }\n` }));
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-wrong', {
      NATS_URL: nats.url, NATS_USER: 'gw', NATS_PASSWORD_FILE: secretFile('wrong-password', WRONG_PASSWORD),
    }));
    cleanups.push(() => gateway.stop('SIGKILL', 1000));
    const line = await gateway.waitForLog(logMsg('cannot connect to NATS'), 10_000, 'connect failure');
    assert.equal(line.json?.level, 60);
    assert.match(String(line.json?.reason), /authorization violation/);
    const code = await Promise.race([gateway.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    assert.notEqual(code, 0);
    assert.notEqual(code, 'still running');
    assertNoSecrets(gateway);
  });

  it('an unreadable secret file is a configuration problem, reported with the others', async () => {
    const gateway = startService('ari-gateway', gatewayEnv(sim, 'auth-config', {
      NATS_URL: 'nats://127.0.0.1:1', NATS_USER: 'gw', NATS_PASSWORD: GW_NATS_PASSWORD,
      NATS_PASSWORD_FILE: secretFile('both', GW_NATS_PASSWORD), NATS_TOKEN_FILE: join(secretsDir, 'nope'), ARI_HTTP_TIMEOUT: 'soon',
    }));
    assert.equal(await gateway.exited, 1);
    const line = await gateway.waitForLog(logMsg('invalid configuration'));
    const problems = (line.json?.problems as string[]).join('\n');
    assert.match(problems, /NATS_PASSWORD_FILE: give either/);
    assert.match(problems, /NATS_TOKEN_FILE: cannot read .* \(ENOENT\)/);
    assert.match(problems, /ARI_HTTP_TIMEOUT/);
    assertNoSecrets(gateway);
  });
});
