import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ControllerConfig, GatewayConfig, HealthConfig } from '@avb/contracts';
import { createLogger, loadConfig, natsConnectionOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'avb-secrets-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const SEED = 'SUAM2HGVQZ3MPM7JAQ7G4ZQRDEVDNNTMSBGJ2UMGE4M2C7DB4NGJCFF3AE';

describe('secret files and NATS auth config', () => {
  it('reads *_FILE once, trims one trailing newline, and keeps secrets only in `nats`', () => {
    const loaded = loadConfig(GatewayConfig, {
      NATS_USER: 'gw', NATS_PASSWORD_FILE: file('nats-pw', 'nats-pw-123\n'), ARI_PASSWORD_FILE: file('ari-pw', 'ari pw 456\r\n'),
    });
    assert.ok(loaded.ok, JSON.stringify(loaded));
    assert.equal(loaded.config.ARI_PASSWORD, 'ari pw 456');
    assert.deepEqual(loaded.config.nats, { servers: ['nats://127.0.0.1:4222'], auth: 'user', user: 'gw', pass: 'nats-pw-123' });
    assert.ok(!('NATS_PASSWORD' in loaded.config) && !('NATS_PASSWORD_FILE' in loaded.config));
    const opts = natsConnectionOptions(loaded.config.nats);
    assert.equal(opts.user, 'gw');
    assert.equal(opts.pass, 'nats-pw-123');
  });

  it('supports token, nkey seed, creds and TLS for every service', () => {
    for (const schema of [GatewayConfig, ControllerConfig, HealthConfig]) {
      const token = loadConfig(schema, { NATS_TOKEN_FILE: file('tok', 'tok-789\n'), NATS_URL: 'tls://a:4222, nats://b:4222' });
      assert.ok(token.ok);
      assert.deepEqual(token.config.nats, { servers: ['tls://a:4222', 'nats://b:4222'], auth: 'token', token: 'tok-789', tls: {} });
      const nkey = loadConfig(schema, { NATS_NKEY_SEED_FILE: file('seed', `${SEED}\n`) });
      assert.ok(nkey.ok);
      assert.equal(nkey.config.nats.auth, 'nkey');
      assert.ok(natsConnectionOptions(nkey.config.nats).authenticator);
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      const tls = loadConfig(schema, {
        NATS_TLS_CA_FILE: file('ca.pem', pem), NATS_TLS_CERT_FILE: file('c.pem', pem), NATS_TLS_KEY_FILE: file('k.pem', '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n'),
      });
      assert.ok(tls.ok);
      assert.deepEqual(Object.keys(tls.config.nats.tls ?? {}).sort(), ['ca', 'cert', 'key']);
    }
    const creds = loadConfig(HealthConfig, {
      NATS_CREDS: file('u.creds', `-----BEGIN NATS USER JWT-----\neyJ0\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`),
    });
    assert.ok(creds.ok, JSON.stringify(creds));
    assert.equal(creds.config.nats.auth, 'creds');
  });

  it('reports every problem at once, naming the variable and path, never a value', () => {
    const loaded = loadConfig(GatewayConfig, {
      NATS_PASSWORD: 'inline-secret-1', NATS_PASSWORD_FILE: file('pw2', 'file-secret-2'),
      ARI_PASSWORD_FILE: join(dir, 'missing'),
      NATS_TOKEN_FILE: file('empty', '\n'),
      NATS_NKEY_SEED_FILE: file('bad-seed', 'not-a-seed-secret-3'),
      NATS_TLS_CERT_FILE: file('cert-only', '-----BEGIN CERTIFICATE-----\n'),
      ARI_HTTP_TIMEOUT: 'x',
    });
    assert.equal(loaded.ok, false);
    const text = loaded.ok ? '' : loaded.problems.join('\n');
    assert.match(text, /NATS_PASSWORD_FILE: give either NATS_PASSWORD or NATS_PASSWORD_FILE, not both/);
    assert.match(text, /ARI_PASSWORD_FILE: cannot read .*missing \(ENOENT\)/);
    assert.match(text, /NATS_TOKEN_FILE: .* is empty/);
    assert.match(text, /NATS_NKEY_SEED: must be an nkey seed/);
    assert.match(text, /ARI_HTTP_TIMEOUT/);
    for (const secret of ['inline-secret-1', 'file-secret-2', 'not-a-seed-secret-3']) assert.ok(!text.includes(secret), text);
  });

  it('refuses two auth methods, a user without password and a certificate without key', () => {
    const two = loadConfig(ControllerConfig, { NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_TOKEN: 't' });
    assert.ok(!two.ok && two.problems.some((p) => /one NATS authentication method/.test(p)), JSON.stringify(two));
    const user = loadConfig(ControllerConfig, { NATS_USER: 'u', AUDIOSOCKET_PORT: 'x' });
    assert.ok(!user.ok && user.problems.some((p) => /go together/.test(p)), 'reported along with the other problems');
    assert.ok(!user.ok && user.problems.some((p) => /AUDIOSOCKET_PORT/.test(p)));
    const pem = '-----BEGIN CERTIFICATE-----\nx\n';
    const cert = loadConfig(ControllerConfig, { NATS_TLS_CERT_FILE: file('c2.pem', pem) });
    assert.ok(!cert.ok && cert.problems.some((p) => /NATS_TLS_KEY_FILE/.test(p)));
  });

  it('a logged config carries no secret', () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } });
    const log = createLogger('t', 'info', stream);
    const pem = '-----BEGIN PRIVATE KEY-----\nkey-secret-4\n-----END PRIVATE KEY-----';
    for (const env of [
      { NATS_USER: 'u', NATS_PASSWORD: 'pw-secret-1', ARI_PASSWORD: 'ari-secret-2' },
      { NATS_TOKEN: 'tok-secret-3', NATS_TLS_CERT_FILE: file('c3.pem', '-----BEGIN CERTIFICATE-----\nx'), NATS_TLS_KEY_FILE: file('k3.pem', pem) },
      { NATS_NKEY_SEED_FILE: file('seed2', SEED) },
    ]) {
      const loaded = loadConfig(GatewayConfig, env);
      assert.ok(loaded.ok, JSON.stringify(loaded));
      log.info({ config: loaded.config }, 'config');
      log.info({ nats: loaded.config.nats }, 'nats');
      log.info(loaded.config, 'flat');
    }
    const all = lines.join('');
    for (const secret of ['pw-secret-1', 'ari-secret-2', 'tok-secret-3', 'key-secret-4', SEED]) assert.ok(!all.includes(secret), `${secret} in ${all}`);
  });
});
