import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallEvent, Commands, ControllerConfig, parseConfig, parseMediaUrls, SessionInfo } from './index.js';

const parse = (env: Record<string, string>) => parseConfig(ControllerConfig, env);
const problems = (env: Record<string, string>) => {
  const r = parse(env);
  assert.equal(r.ok, false, JSON.stringify(env));
  return r.ok ? [] : r.problems;
};
const SERVER = { EXTERNAL_MEDIA_TRANSPORT: 'websocket', EXTERNAL_MEDIA_CONNECTION: 'server', EXTERNAL_MEDIA_WEBSOCKET_URL: 'ws://asterisk:8088/media' };
const CLIENT = { EXTERNAL_MEDIA_TRANSPORT: 'websocket', EXTERNAL_MEDIA_CONNECTION: 'client', EXTERNAL_MEDIA_WEBSOCKET_CLIENT: 'media_connection1' };

describe('media config', () => {
  it('defaults the transport and the encapsulation from each other', () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, 'tcp', 'audiosocket'],
      [{ EXTERNAL_MEDIA_ENCAPSULATION: 'rtp' }, 'udp', 'rtp'],
      [{ EXTERNAL_MEDIA_TRANSPORT: 'udp' }, 'udp', 'rtp'],
      [{ EXTERNAL_MEDIA_ENCAPSULATION: 'rtp', EXTERNAL_MEDIA_TRANSPORT: 'udp' }, 'udp', 'rtp'],
      [SERVER, 'websocket', 'none'],
      [{ ...CLIENT, EXTERNAL_MEDIA_ENCAPSULATION: 'none' }, 'websocket', 'none'],
    ];
    for (const [env, transport, encapsulation] of cases) {
      const r = parse(env);
      assert.ok(r.ok, JSON.stringify(env));
      assert.equal(r.config.EXTERNAL_MEDIA_TRANSPORT, transport);
      assert.equal(r.config.EXTERNAL_MEDIA_ENCAPSULATION, encapsulation);
    }
  });

  it('refuses pairs Asterisk refuses, saying what goes with what', () => {
    assert.match(problems({ EXTERNAL_MEDIA_ENCAPSULATION: 'rtp', EXTERNAL_MEDIA_TRANSPORT: 'tcp' }).join(), /rtp goes with EXTERNAL_MEDIA_TRANSPORT=udp/);
    assert.match(problems({ ...SERVER, EXTERNAL_MEDIA_ENCAPSULATION: 'audiosocket' }).join(), /chan_websocket takes encapsulation 'none'/);
    assert.match(problems({ EXTERNAL_MEDIA_ENCAPSULATION: 'none', EXTERNAL_MEDIA_TRANSPORT: 'tcp' }).join(), /none goes with EXTERNAL_MEDIA_TRANSPORT=websocket/);
  });

  it('needs the connection type and what it goes with in websocket mode', () => {
    assert.match(problems({ EXTERNAL_MEDIA_TRANSPORT: 'websocket' }).join(), /EXTERNAL_MEDIA_CONNECTION: required/);
    assert.match(problems({ ...CLIENT, EXTERNAL_MEDIA_WEBSOCKET_CLIENT: '' }).join(), /EXTERNAL_MEDIA_WEBSOCKET_CLIENT: required in client mode/);
    assert.match(problems({ ...SERVER, EXTERNAL_MEDIA_WEBSOCKET_URL: '' }).join(), /EXTERNAL_MEDIA_WEBSOCKET_URL: required in server mode/);
    // Another transport's or mode's variables are ignored: one env switches with the transport alone.
    assert.ok(parse({ ...SERVER, EXTERNAL_MEDIA_WEBSOCKET_CLIENT: 'x' }).ok);
    assert.ok(parse({ ...CLIENT, EXTERNAL_MEDIA_WEBSOCKET_URL: 'ws://a/media' }).ok);
    assert.ok(parse({ ...CLIENT, EXTERNAL_MEDIA_TRANSPORT: 'tcp' }).ok);
    assert.match(problems({ ...CLIENT, EXTERNAL_MEDIA_WEBSOCKET_CLIENT: 'INCOMING' }).join(), /INCOMING is what server mode dials/);
    assert.match(problems({ ...CLIENT, EXTERNAL_MEDIA_WEBSOCKET_CLIENT: 'host:8787' }).join(), /websocket_client\.conf id/);
  });

  it('takes only formats chan_websocket frames itself', () => {
    for (const format of ['slin16', 'slin', 'ulaw', 'alaw', 'g722', 'slin48']) assert.ok(parse({ ...SERVER, EXTERNAL_MEDIA_FORMAT: format }).ok, format);
    for (const format of ['opus', 'g729', 'speex', 'gsm']) assert.match(problems({ ...CLIENT, EXTERNAL_MEDIA_FORMAT: format }).join(), /chan_websocket frames only/, format);
    assert.ok(parse({ EXTERNAL_MEDIA_FORMAT: 'opus' }).ok, 'AudioSocket/RTP formats are Asterisk\'s business');
  });

  it('keeps our connect timeout below Asterisk\'s own in server mode', () => {
    assert.ok(parse({ ...SERVER, MEDIA_CONNECT_TIMEOUT_MS: '29999' }).ok);
    assert.match(problems({ ...SERVER, MEDIA_CONNECT_TIMEOUT_MS: '30000' }).join(), /below 30000.*~31 s/);
    assert.ok(parse({ ...CLIENT, MEDIA_CONNECT_TIMEOUT_MS: '60000' }).ok, 'client mode has no such Asterisk timeout');
  });

  it('reads one media URL for every node, or one per node', () => {
    assert.deepEqual(parseMediaUrls('ws://asterisk:8088/media/'), { ok: true, urls: { '*': 'ws://asterisk:8088/media' } });
    assert.deepEqual(parseMediaUrls('pbx1=ws://a:8088/media, pbx2=wss://b/media'), { ok: true, urls: { pbx1: 'ws://a:8088/media', pbx2: 'wss://b/media' } });
    for (const [raw, why] of [['http://a/media', /not a ws/], ['ws://a/media?x=1', /no query/], ['pbx1=ws://a/m,pbx1=ws://b/m', /named twice/], ['a.b=ws://x/m', /not a node name/], [' , ', /empty/]] as const) {
      const r = parseMediaUrls(raw);
      assert.ok(!r.ok && why.test(r.problem), `${raw}: ${JSON.stringify(r)}`);
    }
  });

  it('reports media problems beside every other one', () => {
    const p = problems({ ...SERVER, EXTERNAL_MEDIA_FORMAT: 'opus', MEDIA_CONNECT_TIMEOUT_MS: '40000', AUDIOSOCKET_PORT: 'x' });
    assert.equal(p.length, 3, p.join('\n'));
  });
});

describe('externalMedia params', () => {
  const ok = (p: Record<string, unknown>) => Commands['channels.externalMedia'].params.safeParse(p).success;
  const ws = { transport: 'websocket', encapsulation: 'none', format: 'slin16' };
  it('take chan_websocket in both modes', () => {
    assert.ok(ok({ ...ws, connection_type: 'server', external_host: 'INCOMING', channelId: 'a', data: 'a' }));
    assert.ok(ok({ ...ws, connection_type: 'server' }), 'external_host may be left out in server mode');
    assert.ok(ok({ ...ws, connection_type: 'client', external_host: 'media_connection1' }));
    assert.ok(ok({ ...ws, external_host: 'media_connection1' }), 'client is the default');
  });
  it('refuse what Asterisk refuses, and transport_data (f(xml) crashes 22.10.1)', () => {
    assert.ok(!ok({ ...ws, encapsulation: 'audiosocket', external_host: 'm1' }));
    assert.ok(!ok({ ...ws, external_host: '127.0.0.1:8787' }), 'host:port is no websocket_client id');
    assert.ok(!ok({ ...ws, external_host: 'INCOMING' }), 'INCOMING is server mode');
    assert.ok(!ok({ ...ws, connection_type: 'server', external_host: 'm1' }));
    assert.ok(!ok({ format: 'slin16', external_host: 'm1' }), 'other transports want host:port');
    assert.ok(!ok({ format: 'slin16', external_host: 'a:1', connection_type: 'server' }));
    assert.ok(!ok({ format: 'slin16', external_host: 'a:1', encapsulation: 'none' }));
    assert.ok(!ok({ ...ws, external_host: 'm1', transport_data: 'f(xml)' }));
    assert.ok(ok({ format: 'slin16', external_host: 'a:1', encapsulation: 'audiosocket', transport: 'tcp' }));
  });
});

describe('websocket media in events and session lookups', () => {
  const base = {
    app: 'ai_app', node: 'pbx1', sessionId: '4bb663c5-d2c8-485d-8227-b54c2baa7dd8', channelId: '1.2', bridgeId: 'b',
    externalChannelId: '4bb663c5-d2c8-485d-8227-b54c2baa7dd8', callerNumber: '', callerName: '', startedAt: 't',
  };
  const media = { connection: 'server', connectionId: '9f0c2c53-0e6b-4a38-9b0e-4b1e3d3a1f10', url: 'ws://a:8088/media/9f0c2c53-0e6b-4a38-9b0e-4b1e3d3a1f10' };
  it('carry the connection id and the URL', () => {
    assert.ok(CallEvent.safeParse({ ...base, kind: 'media_ready', media, at: 't' }).success);
    assert.ok(SessionInfo.safeParse({ ...base, phase: 'setup', media }).success);
    assert.ok(!CallEvent.safeParse({ ...base, kind: 'media_ready', media: { ...media, extra: 1 }, at: 't' }).success);
  });
});
