import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AriId, Commands, ControllerConfig, GatewayConfig, GatewayReconnected, Reply, decodeJson, parseCommandSubject, parseConfig,
  parseEventSubject, subjects, toSubjectToken,
} from './index.js';

describe('AriId', () => {
  it('accepts the ids Asterisk and we produce', () => {
    for (const id of ['1795478615.15', '4bb663c5-d2c8-485d-8227-b54c2baa7dd8', 'my_bridge:1', 'a@b']) {
      assert.equal(AriId.safeParse(id).success, true, id);
    }
  });
  it('refuses anything that could leave its path segment', () => {
    for (const id of ['', '.', '..', '../bridges/x', 'a/b', '%2e%2e', 'x?y=1', 'x#y', ' a', 'a b', '\u0000', 'é', 'a'.repeat(129), '.hidden']) {
      assert.equal(AriId.safeParse(id).success, false, JSON.stringify(id));
    }
  });
});

describe('subjects', () => {
  it('build and parse event and command subjects', () => {
    assert.equal(subjects.ariEvent('ai_app', 'pbx1', 'StasisStart'), 'ari.event.ai_app.pbx1.StasisStart');
    assert.deepEqual(parseEventSubject('ari.event.ai_app.pbx1.StasisEnd'), { app: 'ai_app', node: 'pbx1', type: 'StasisEnd' });
    assert.equal(parseEventSubject('ari.event.ai_app.pbx1'), undefined);
    assert.equal(subjects.ariCommand('ai_app', 'pbx1', 'bridges.addChannel'), 'ari.command.ai_app.pbx1.bridges.addChannel');
    assert.deepEqual(parseCommandSubject('ari.command.ai_app.pbx1.channels.get'), { app: 'ai_app', node: 'pbx1', command: 'channels.get' });
    assert.equal(parseCommandSubject('ari.command.ai_app.pbx1.channels'), undefined);
  });
  it('makes node names subject-safe', () => {
    assert.equal(toSubjectToken('asterisk.example.com'), 'asterisk_example_com');
    assert.equal(toSubjectToken(''), 'default');
  });
});

describe('commands', () => {
  it('reject unknown fields and wrong types', () => {
    assert.equal(Commands['channels.answer'].params.safeParse({ channelId: '1.2', extra: 1 }).success, false);
    assert.equal(Commands['bridges.addChannel'].params.safeParse({ bridgeId: 'b', channel: 5 }).success, false);
    assert.equal(Commands['bridges.addChannel'].params.safeParse({ bridgeId: 'b', channel: ['1.2', '3.4'] }).success, true);
    assert.equal(Commands['channels.externalMedia'].params.safeParse({ external_host: 'audiosocket', format: 'slin16' }).success, false);
  });
  it('reply envelopes carry a known code', () => {
    assert.equal(Reply.safeParse({ ok: false, error: { code: 'not_found', message: 'Channel not found', status: 404 } }).success, true);
    assert.equal(Reply.safeParse({ ok: false, error: { code: 'nope', message: 'x' } }).success, false);
  });
});

describe('config', () => {
  it('keeps the defaults of the system we replace', () => {
    const gw = parseConfig(GatewayConfig, {});
    assert.ok(gw.ok);
    assert.equal(gw.config.ARI_BASE_URL, 'http://asterisk:8088/ari');
    assert.equal(gw.config.ARI_APP, 'ai_app');
    assert.equal(gw.config.ARI_HTTP_TIMEOUT, 10);
    assert.equal(gw.config.ARI_NODE, 'asterisk');
    const cc = parseConfig(ControllerConfig, {});
    assert.ok(cc.ok);
    assert.equal(cc.config.AUDIOSOCKET_HOST, 'audiosocket');
    assert.equal(cc.config.AUDIOSOCKET_PORT, 7575);
    assert.equal(cc.config.EXTERNAL_MEDIA_FORMAT, 'slin16');
  });
  it('accepts nats:// and tls:// server lists, refuses other schemes', () => {
    for (const url of ['nats://nats:4222', 'nats://a:4222,nats://b:4222/', 'tls://127.0.0.1:4443', 'localhost', 'nats://u:p@h:4222']) {
      const parsed = parseConfig(GatewayConfig, { NATS_URL: url });
      assert.ok(parsed.ok, url);
    }
    for (const url of ['http://nats:4222', 'ws://nats:8080', 'nats://a b:1']) {
      assert.equal(parseConfig(GatewayConfig, { NATS_URL: url }).ok, false, url);
    }
  });
  it('takes JETSTREAM_REPLICAS 1..5 (default 1) for gateways and controllers, refuses anything else', () => {
    for (const schema of [GatewayConfig, ControllerConfig]) {
      const d = parseConfig(schema, {});
      assert.equal(d.ok ? d.config.JETSTREAM_REPLICAS : undefined, 1);
      const three = parseConfig(schema, { JETSTREAM_REPLICAS: '3' });
      assert.equal(three.ok ? three.config.JETSTREAM_REPLICAS : undefined, 3);
      for (const bad of ['0', '6', '2.5', 'three']) {
        const parsed = parseConfig(schema, { JETSTREAM_REPLICAS: bad });
        assert.equal(parsed.ok, false, bad);
        assert.match(parsed.ok ? '' : parsed.problems.join(' '), /JETSTREAM_REPLICAS/);
      }
    }
    const gw = parseConfig(GatewayConfig, {});
    assert.equal(gw.ok ? gw.config.GATEWAY_LEASE_GRACE_MS : undefined, 20_000);
  });
  it('reports every problem at once', () => {
    const bad = parseConfig(ControllerConfig, { AUDIOSOCKET_PORT: 'x', ARI_APP: 'a.b', EXTERNAL_MEDIA_TRANSPORT: 'sctp' });
    assert.equal(bad.ok, false);
    assert.equal(bad.ok ? 0 : bad.problems.length, 3);
  });
});

describe('decodeJson', () => {
  const enc = (text: string) => new TextEncoder().encode(text);
  it('gives the message when the bytes are JSON of that schema, undefined otherwise', () => {
    const notice = { app: 'ai_app', node: 'pbx1', instance: 'gw-1', at: '2026-12-02T00:00:00.000Z' };
    assert.deepEqual(decodeJson(GatewayReconnected, enc(JSON.stringify(notice))), notice);
    for (const bad of ['{"node":', '', 'null', '{"app":"ai_app"}', JSON.stringify({ ...notice, extra: 1 })]) {
      assert.equal(decodeJson(GatewayReconnected, enc(bad)), undefined, bad);
    }
  });
});
