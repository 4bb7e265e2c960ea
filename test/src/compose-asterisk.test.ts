/**
 * The Asterisk config as the container gets it: docker/asterisk/entrypoint.sh run on a temp dir
 * with the environment compose gives the asterisk service, then the rendered files checked for
 * their own structure (Asterisk cannot run here): every module named exists in Asterisk 22 and
 * what the stack needs is loaded, every dialplan application and function has its module, every
 * tone played has an indications entry, no secret sits in a comment, the NAT settings and RTP
 * ports land where compose publishes them. Also the Dockerfile's pinning of Asterisk 22.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dialplanFunctions, dialplanSteps, isCommentLine, parseConf, parseModuleList, values } from './asterisk-conf.js';
import { composeServices, interpolate, readRepo, renderAsteriskConf, serviceEnv } from './compose-files.js';
import { repoRoot } from './harness/services.js';

const asterisk = composeServices().asterisk!;
const modulesList = parseModuleList(readRepo('docker/asterisk/asterisk-22-modules.txt'));
const known = new Map(modulesList.filter((m) => m.name !== 'core').map((m) => [m.name, m]));

/** .env as a user fills it in: distinctive secrets (found if they leak), NAT for a LAN softphone. */
const DOTENV = {
  ARI_PASSWORD: 'ari-S3cret & | \\1 "q" $x #h',
  SIP_PASSWORD: 'sip-S3cret#2 {x}',
  SIP_EXTERNAL_ADDRESS: '192.0.2.10',
  SIP_LOCAL_NETS: '172.16.0.0/12,10.10.0.0/16',
};

/** What the stack cannot work without, beyond what the dialplan's applications pull in. */
const NEEDED = [
  'chan_pjsip.so', 'res_pjsip.so', 'res_pjsip_session.so', 'res_pjsip_authenticator_digest.so',
  'res_pjsip_endpoint_identifier_user.so', 'res_pjsip_sdp_rtp.so', 'res_pjsip_nat.so', 'res_rtp_asterisk.so',
  'res_http_websocket.so', 'res_ari.so', 'res_ari_model.so', 'res_ari_channels.so', 'res_ari_bridges.so',
  'res_ari_events.so', 'res_stasis.so', 'res_stasis_answer.so', 'app_stasis.so', 'res_audiosocket.so',
  'chan_audiosocket.so', 'bridge_simple.so', 'pbx_config.so', 'res_timing_timerfd.so', 'codec_resample.so',
  'chan_websocket.so', 'res_websocket_client.so',
];
/** The codec module an endpoint `allow` entry needs to reach AudioSocket's 16 kHz linear audio. */
const CODEC_MODULE: Record<string, string> = { ulaw: 'codec_ulaw.so', alaw: 'codec_alaw.so', g722: 'codec_g722.so', slin16: 'codec_resample.so' };
/** Files Asterisk's core or a loaded module reads at start, logging an error when one is missing. */
const READ_AT_START = [
  'asterisk.conf', 'logger.conf', 'modules.conf', 'indications.conf', 'acl.conf', 'ccss.conf', 'cdr.conf',
  'cel.conf', 'features.conf', 'manager.conf', 'stasis.conf', 'udptl.conf', 'http.conf', 'pjproject.conf',
  'pjsip.conf', 'rtp.conf', 'ari.conf', 'extensions.conf',
];

describe('docker/asterisk/entrypoint.sh renders the Asterisk config', () => {
  let files: Map<string, string>;
  let dir: string;
  const file = (name: string) => {
    const text = files.get(name);
    assert.ok(text !== undefined, `rendered ${name}`);
    return text;
  };

  before(async () => {
    const rendered = await renderAsteriskConf(serviceEnv(asterisk, DOTENV));
    assert.ok(rendered.ok, `entrypoint.sh: ${rendered.stderr}`);
    files = rendered.files;
    dir = rendered.dir;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every file Asterisk reads at start, with every placeholder filled in', () => {
    for (const name of READ_AT_START) file(name);
    for (const [name, text] of files) {
      for (const line of text.split('\n')) {
        if (!isCommentLine(line)) assert.doesNotMatch(line, /@[A-Z_]+@/, `${name}: placeholder left in '${line}'`);
      }
    }
  });

  it('puts the ARI and SIP passwords where they belong, never in a comment', () => {
    const user = interpolate(asterisk.environment!.ARI_USER!, DOTENV);
    assert.deepEqual(values(parseConf(file('ari.conf')), user, 'password'), [DOTENV.ARI_PASSWORD]);
    assert.deepEqual(values(parseConf(file('ari.conf')), user, 'type'), ['user']);
    const auth = parseConf(file('pjsip.conf')).filter((s) => s.section === 'softphone' && s.key === 'password');
    assert.deepEqual(auth.map((s) => s.value), [DOTENV.SIP_PASSWORD]);
    for (const [name, text] of files) {
      for (const line of text.split('\n').filter(isCommentLine)) {
        for (const secret of [DOTENV.ARI_PASSWORD, DOTENV.SIP_PASSWORD]) assert.ok(!line.includes(secret), `${name}: a password in the comment '${line}'`);
      }
    }
  });

  it('loads only modules of Asterisk 22, no autoload, no noload of an unknown module, everything needed', () => {
    const statements = parseConf(file('modules.conf')).filter((s) => s.section === 'modules');
    assert.deepEqual(values(statements, 'modules', 'autoload'), ['no']);
    for (const s of statements.filter((x) => x.key !== 'autoload')) {
      assert.ok(['load', 'noload', 'require', 'preload', 'preload-require'].includes(s.key), `modules.conf line ${s.line}: ${s.key}`);
      assert.ok(known.has(s.value), `modules.conf line ${s.line}: ${s.key} = ${s.value} is not in Asterisk 22's module set (asterisk-22-modules.txt)`);
    }
    const loaded = new Set(values(statements, 'modules', 'load'));
    assert.equal(loaded.size, values(statements, 'modules', 'load').length, 'each module loaded once');
    for (const m of NEEDED) assert.ok(loaded.has(m), `modules.conf loads ${m}`);
    for (const m of values(statements, 'modules', 'noload')) assert.ok(!loaded.has(m), `${m} both loaded and not`);
  });

  it('has a loaded module (or the core) for every dialplan application and function', () => {
    const loaded = new Set(values(parseConf(file('modules.conf')), 'modules', 'load'));
    const provided = modulesList.filter((m) => m.name === 'core' || loaded.has(m.name));
    const apps = new Map(provided.flatMap((m) => m.apps.map((a) => [a.toLowerCase(), m.name] as const)));
    const funcs = new Set(provided.flatMap((m) => m.funcs));
    const ext = file('extensions.conf');
    const steps = dialplanSteps(ext);
    assert.ok(steps.length > 10);
    for (const s of steps) assert.ok(apps.has(s.app.toLowerCase()), `extensions.conf line ${s.line}: no loaded module provides ${s.app}()`);
    for (const f of dialplanFunctions(ext)) assert.ok(funcs.has(f), `extensions.conf: no loaded module provides the function ${f}()`);
    // Every app a loaded module is listed for runs somewhere, so the list does not load dead weight.
    for (const name of ['app_playtones.so', 'app_verbose.so', 'app_stasis.so']) {
      assert.ok(steps.some((s) => known.get(name)!.apps.some((a) => a.toLowerCase() === s.app.toLowerCase())), `${name} is used`);
    }
  });

  it('has an indications entry in the default zone for every tone the dialplan plays', () => {
    const ind = parseConf(file('indications.conf'));
    const [country] = values(ind, 'general', 'country');
    assert.ok(country, 'indications.conf [general] country');
    const tones = new Set(ind.filter((s) => s.section === country).map((s) => s.key));
    const played = dialplanSteps(file('extensions.conf')).filter((s) => s.app.toLowerCase() === 'playtones').map((s) => s.args);
    assert.deepEqual([...new Set(played)].sort(), ['busy', 'congestion']);
    for (const tone of played) {
      assert.ok(tones.has(tone), `indications.conf [${country}] has ${tone}`);
      const [spec] = values(ind, country, tone);
      // frequency[+frequency][/ms] parts, comma-separated: what Asterisk's tone parser reads.
      for (const part of spec!.split(',')) assert.match(part.trim(), /^!?\d+(?:[+*]\d+)?(?:\/\d+)?$/, `${tone}: '${part}'`);
    }
    // The promised 3 s of congestion and cause 34 when no gateway holds the app.
    const stasis = dialplanSteps(file('extensions.conf')).filter((s) => s.context === 'ai-stasis').map((s) => `${s.app}(${s.args})`);
    const from = stasis.indexOf('Playtones(congestion)');
    assert.deepEqual(stasis.slice(from - 1, from + 4), ['Progress()', 'Playtones(congestion)', 'Wait(3)', 'StopPlaytones()', 'Hangup(34)']);
  });

  it('renders the NAT settings into the UDP transport and the endpoint calls into the dialplan', () => {
    const pjsip = parseConf(file('pjsip.conf'));
    assert.deepEqual(values(pjsip, 'transport-udp', 'bind'), ['0.0.0.0:5060']);
    assert.deepEqual(values(pjsip, 'transport-udp', 'external_media_address'), [DOTENV.SIP_EXTERNAL_ADDRESS]);
    assert.deepEqual(values(pjsip, 'transport-udp', 'external_signaling_address'), [DOTENV.SIP_EXTERNAL_ADDRESS]);
    assert.deepEqual(values(pjsip, 'transport-udp', 'local_net'), DOTENV.SIP_LOCAL_NETS.split(','));
    const endpoint = pjsip.filter((s) => s.section === 'softphone');
    const get = (k: string) => endpoint.filter((s) => s.key === k).map((s) => s.value);
    assert.deepEqual(get('type').sort(), ['aor', 'auth', 'endpoint']);
    assert.ok(file('extensions.conf').includes(`[${get('context')[0]}]`), 'the endpoint context is in extensions.conf');
    const loaded = new Set(values(parseConf(file('modules.conf')), 'modules', 'load'));
    for (const codec of get('allow')[0]!.split(',')) assert.ok(loaded.has(CODEC_MODULE[codec] ?? `codec for ${codec}`), `codec module for ${codec}`);
  });

  it('writes the websocket_client the controllers name for chan_websocket client mode', () => {
    const conf = parseConf(file('websocket_client.conf'));
    const id = composeServices()['call-controller']!.environment!.EXTERNAL_MEDIA_WEBSOCKET_CLIENT!;
    const get = (key: string) => values(conf, id, key);
    assert.deepEqual(get('type'), ['websocket_client'], `[${id}] in websocket_client.conf`);
    assert.deepEqual(get('uri'), [interpolate(asterisk.environment!.MEDIA_WEBSOCKET_URI!, DOTENV)]);
    assert.deepEqual(get('connection_type'), ['per_call_config'], 'one connection per call');
    assert.deepEqual(get('protocols'), ['media'], 'the subprotocol chan_websocket speaks');
    assert.deepEqual(get('tls_enabled'), ['no']);
  });

  it('writes the RTP range compose publishes into rtp.conf', () => {
    const rtp = parseConf(file('rtp.conf'));
    const range = `${values(rtp, 'general', 'rtpstart')[0]}-${values(rtp, 'general', 'rtpend')[0]}`;
    const published = (asterisk.ports ?? []).map((p) => interpolate(p, DOTENV));
    assert.ok(published.includes(`${range}:${range}/udp`), `compose publishes ${range}/udp: ${published.join(' ')}`);
  });
});

describe('docker/asterisk/entrypoint.sh settings', () => {
  const render = (dotenv: Record<string, string>) => renderAsteriskConf(serviceEnv(asterisk, { ARI_PASSWORD: 'a', SIP_PASSWORD: 's', ...dotenv }));

  it('turns TLS on for a wss:// media server', async () => {
    const r = await render({ MEDIA_WEBSOCKET_URI: 'wss://media.example:443/asterisk?x=1&y=2' });
    rmSync(r.dir, { recursive: true, force: true });
    assert.ok(r.ok, r.stderr);
    const conf = parseConf(r.files.get('websocket_client.conf')!);
    assert.deepEqual(values(conf, 'media_echo', 'uri'), ['wss://media.example:443/asterisk?x=1&y=2']);
    assert.deepEqual(values(conf, 'media_echo', 'tls_enabled'), ['yes']);
  });

  it('leaves the transport alone without SIP_EXTERNAL_ADDRESS (calls from this host)', async () => {
    const r = await render({});
    rmSync(r.dir, { recursive: true, force: true });
    assert.ok(r.ok, r.stderr);
    const pjsip = parseConf(r.files.get('pjsip.conf')!);
    for (const key of ['external_media_address', 'external_signaling_address', 'local_net']) assert.deepEqual(values(pjsip, 'transport-udp', key), []);
    assert.deepEqual(values(parseConf(r.files.get('rtp.conf')!), 'general', 'rtpstart'), ['10000']);
  });

  it('refuses, without printing them, values Asterisk or compose could not take', async () => {
    const cases: Array<[Record<string, string>, RegExp, string?]> = [
      [{ ARI_PASSWORD: 'semi;colon' }, /ARI_PASSWORD must not contain ';'/, 'semi;colon'],
      [{ SIP_PASSWORD: ' padded' }, /SIP_PASSWORD must not start or end with a blank/, ' padded'],
      [{ SIP_EXTERNAL_ADDRESS: '1.2.3.4; rm -rf /' }, /SIP_EXTERNAL_ADDRESS/],
      [{ SIP_LOCAL_NETS: '10.0.0.0/8,evil net' }, /SIP_LOCAL_NETS/],
      [{ RTP_PORT_START: '20000', RTP_PORT_END: '19000' }, /RTP ports/],
      [{ MEDIA_WEBSOCKET_URI: 'http://media:8787/media' }, /MEDIA_WEBSOCKET_URI must be a ws:\/\/ or wss:\/\/ URL/],
      [{ MEDIA_WEBSOCKET_URI: 'ws://media:8787/a;b' }, /MEDIA_WEBSOCKET_URI/],
    ];
    for (const [dotenv, why, secret] of cases) {
      const r = await render(dotenv);
      rmSync(r.dir, { recursive: true, force: true });
      assert.equal(r.ok, false, JSON.stringify(dotenv));
      assert.match(r.stderr, why);
      if (secret) assert.ok(!r.stderr.includes(secret), 'the password is not printed');
    }
  });

  it('renders the same with mawk, the awk of the Debian image', { skip: existsSync('/usr/bin/mawk') ? false : 'mawk not installed (apt-get install mawk)' }, async () => {
    const bin = mkdtempSync(join(tmpdir(), 'avb-mawk-'));
    symlinkSync('/usr/bin/mawk', join(bin, 'awk'));
    const env = serviceEnv(asterisk, DOTENV);
    const a = await renderAsteriskConf(env);
    const b = await renderAsteriskConf({ ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    for (const r of [a, b]) rmSync(r.dir, { recursive: true, force: true });
    rmSync(bin, { recursive: true, force: true });
    assert.ok(a.ok && b.ok, `${a.stderr} ${b.stderr}`);
    assert.deepEqual([...b.files], [...a.files]);
  });
});

describe('docker/asterisk/Dockerfile', () => {
  const file = readRepo('docker/asterisk/Dockerfile');

  it('builds a pinned Asterisk 22 (>= 22.7) from the release tarball, refused unless its SHA-256 matches', () => {
    assert.equal(asterisk.build?.dockerfile, 'docker/asterisk/Dockerfile');
    assert.ok((file.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    const version = /^ARG ASTERISK_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(file);
    assert.ok(version && version[1] === '22' && Number(version[2]) >= 7, `Asterisk 22.7+: ${version?.[0]}`);
    assert.match(file, /^ARG ASTERISK_SHA256=[0-9a-f]{64}$/m);
    assert.match(file, /echo "\$ASTERISK_SHA256  asterisk\.tar\.gz" \| sha256sum -c -/);
    assert.match(file, /downloads\.asterisk\.org\/pub\/telephony\/asterisk\/\$dir\/asterisk-\$ASTERISK_VERSION\.tar\.gz/);
    for (const c of ['MENUSELECT_CORE_SOUNDS', 'MENUSELECT_MOH', 'MENUSELECT_EXTRA_SOUNDS']) assert.match(file, new RegExp(`--disable-category ${c}\\b`), `no ${c} download`);
    assert.doesNotMatch(file, /make samples/);
    assert.match(file, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/avb-asterisk-entrypoint"\]$/m);
    assert.match(file, /^CMD \["asterisk", "-f", "-U", "asterisk", "-G", "asterisk"/m);
  });

  it('builds exactly the modules modules.conf loads', () => {
    const sed = /modules="\$\(sed -n '([^']+)' \/usr\/src\/modules\.conf\)"/.exec(file)?.[1];
    assert.ok(sed, 'the Dockerfile reads the module list from modules.conf');
    const built = execFileSync('sed', ['-n', sed, join(repoRoot, 'docker/asterisk/conf/modules.conf')], { encoding: 'utf8' })
      .split('\n').filter(Boolean);
    const loaded = values(parseConf(readRepo('docker/asterisk/conf/modules.conf')), 'modules', 'load').map((m) => m.replace(/\.so$/, ''));
    assert.deepEqual(built, loaded);
    assert.match(file, /--enable %s/);
    assert.match(file, /modules\.conf loads \$m\.so, but it was not built/);
  });
});
