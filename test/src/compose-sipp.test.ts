/**
 * docker/sipp/softphone.xml, the call command docs/compose.md gives: its structure always, and,
 * where sipp is installed, real calls over loopback against a sipp UAS standing in for Asterisk's
 * chan_pjsip (401 digest challenge checked with verifyauth, SDP answer, BYE or 503), with a UDP
 * socket of the test as the RTP peer the SDP names.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConf } from './asterisk-conf.js';
import { readRepo } from './compose-files.js';
import { repoRoot } from './harness/services.js';

const SCENARIO = 'docker/sipp/softphone.xml';
const xml = readRepo(SCENARIO);
const SIPP = spawnSync('sipp', ['-v'], { encoding: 'utf8' }).error ? undefined : 'sipp';
const NO_SIPP = SIPP ? false : 'sipp is not installed (Debian: apt-get install -y sip-tester); the scenario is checked without it';
const PCAP = '/usr/share/sip-tester/g711a.pcap';

/** Tags balanced, CDATA and comments skipped: enough to catch a broken edit. */
function assertWellFormed(text: string): string[] {
  const body = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<\?xml[^>]*\?>/, '').replace(/<!DOCTYPE[^>]*>/, '');
  const stack: string[] = [];
  const seen: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (!close) seen.push(name!);
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the open element`);
    else if (!selfClose) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'every element closed');
  assert.doesNotMatch(body.replace(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>/g, ''), /[<>]/, 'no stray markup');
  return seen;
}

/** A free UDP port on loopback, and the socket holding it (closed by the caller). */
function udpSocket(): Promise<Socket & { port: number }> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(Object.assign(s, { port: s.address().port })));
  });
}

async function freeUdpPort(): Promise<number> {
  const s = await udpSocket();
  const { port } = s;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Ending = 'asterisk-hangs-up' | 'caller-hangs-up' | 'congestion';

/** The UAS: challenges like chan_pjsip, checks the digest, then ends the call as `ending` says. */
function fakeAsterisk(password: string, rtpPort: number, ending: Ending): string {
  const reply = (status: string, tag: number, extra = '', sdp = false) => `
  <send><![CDATA[

      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag0${tag}[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      ${extra}${sdp ? `Contact: <sip:100@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=asterisk 1 1 IN IP4 127.0.0.1
      s=fake
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio ${rtpPort} RTP/AVP 8
      a=rtpmap:8 PCMA/8000
` : 'Content-Length: 0\n'}
  ]]></send>`;
  const endings: Record<Ending, string> = {
    'asterisk-hangs-up': `${reply('200 OK', 3, '', true)}
  <recv request="ACK"/>
  <pause milliseconds="1500"/>
  <send retrans="500"><![CDATA[

      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:100@[local_ip]:[local_port]>;tag=[pid]SIPpTag03[call_number]
      To: [$caller]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>`,
    'caller-hangs-up': `${reply('200 OK', 3, '', true)}
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>`,
    // What the dialplan does with no ari-gateway: early media (the tone), then cause 34 = 503.
    congestion: `${reply('183 Session Progress', 3, '', true)}
  <pause milliseconds="1000"/>
  ${reply('503 Service Unavailable', 3, 'Reason: Q.850;cause=34\n      ')}
  <recv request="ACK"/>`,
  };
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="fake chan_pjsip">
  <recv request="INVITE"/>
  ${reply('401 Unauthorized', 1, 'WWW-Authenticate: Digest realm="asterisk",nonce="a1b2c3d4e5",algorithm=MD5\n      ')}
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>${ending === 'asterisk-hangs-up' ? `
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
      <ereg regexp=".*" search_in="hdr" header="Contact:" assign_to="contact"/>` : ''}
      <verifyauth assign_to="authvalid" username="softphone" password="${password.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="authorized"/>
  ${reply('403 Forbidden', 2)}
  <recv request="ACK" next="end"/>
  <label id="authorized"/>
  ${endings[ending]}
  <label id="end"/>
</scenario>
`;
}

interface Run {
  code: number | null;
  out: string;
}

function sipp(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(SIPP!, [...args, '-timeout', '30s', '-nostdin'], { cwd, timeout: 40_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

interface Call {
  uac: Run;
  uas: Run;
  rtpPackets: number;
}

/** One call of docker/sipp/softphone.xml (with `password`) against the fake Asterisk. */
async function call(password: string, expected: string, ending: Ending): Promise<Call> {
  const dir = mkdtempSync(join(tmpdir(), 'avb-sipp-'));
  const rtp = await udpSocket();
  let rtpPackets = 0;
  rtp.on('message', (m) => {
    if (m.length > 12 && m[0] === 0x80 && (m[1]! & 0x7f) === 8) rtpPackets += 1; // RTP v2, PCMA
  });
  try {
    writeFileSync(join(dir, 'uas.xml'), fakeAsterisk(expected, rtp.port, ending));
    const [sipPort, uacPort, uasMedia, uacMedia] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const uasRun = sipp(['-sf', 'uas.xml', '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(uasMedia), '-m', '1'], dir);
    await new Promise((r) => setTimeout(r, 300));
    const uac = await sipp(['-sf', join(repoRoot, SCENARIO), '-s', '100', '-au', 'softphone', '-ap', password,
      '-i', '127.0.0.1', '-p', String(uacPort), '-mi', '127.0.0.1', '-mp', String(uacMedia), '-m', '1', `127.0.0.1:${sipPort}`], dir);
    const uas = await uasRun;
    return { uac, uas, rtpPackets };
  } finally {
    rtp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const counted = (run: Run, what: 'Successful' | 'Failed') => Number(new RegExp(`${what} call\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(run.out)?.[1] ?? -1);

describe('docker/sipp/softphone.xml', () => {
  it('is a well-formed sipp scenario for the softphone endpoint: digest auth, RTP, every jump to a label', () => {
    const elements = assertWellFormed(xml);
    assert.equal(elements[0], 'scenario');
    assert.ok(elements.filter((e) => e === 'scenario').length === 1);
    const labels = new Set([...xml.matchAll(/<label id="([^"]+)"/g)].map((m) => m[1]!));
    for (const m of xml.matchAll(/\b(?:next|ontimeout)="([^"]+)"/g)) assert.ok(labels.has(m[1]!), `label ${m[1]}`);
    assert.match(xml, /<recv response="401" auth="true"/);
    assert.match(xml, /CSeq: 2 INVITE\s+Contact: [^\n]+\s+\[authentication\]/);
    assert.match(xml, new RegExp(`<exec play_pcap_audio="${PCAP}"/>`));
    // The From user is the endpoint pjsip.conf identifies (by user name) and authenticates.
    const pjsip = parseConf(readRepo('docker/asterisk/conf/pjsip.conf'));
    const username = pjsip.find((s) => s.section === 'softphone' && s.key === 'username')?.value;
    for (const from of xml.matchAll(/From: "softphone" <sip:([^@]+)@/g)) assert.equal(from[1], username);
    // The documented call command is this scenario with that user.
    const doc = readRepo('docs/compose.md');
    assert.match(doc, /sipp -sf docker\/sipp\/softphone\.xml -s 100 -au softphone -ap "\$SIP_PASSWORD"/);
  });

  it('parses in sipp', { skip: NO_SIPP }, async () => {
    // Against a loopback port nobody answers: a scenario error would stop sipp before it sends.
    const dir = mkdtempSync(join(tmpdir(), 'avb-sipp-'));
    try {
      const run = await sipp(['-sf', join(repoRoot, SCENARIO), '-m', '1', '-i', '127.0.0.1', '-p', String(await freeUdpPort()),
        '-timeout', '1s', '-max_retrans', '1', '-s', '100', `127.0.0.1:${await freeUdpPort()}`], dir);
      // sipp prints its scenario screen only for a scenario it loaded; a broken one ends in
      // e.g. "Empty cdata in xml scenario file" instead.
      assert.doesNotMatch(run.out, /scenario file|Unable to|not found|Invalid/i);
      assert.match(run.out, /INVITE ---------->/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers the 401 with the password, plays RTP to the answer, and takes Asterisk\'s BYE', { skip: NO_SIPP }, async () => {
    const { uac, uas, rtpPackets } = await call('s3cret #1 "q" 12345678', 's3cret #1 "q" 12345678', 'asterisk-hangs-up');
    assert.equal(uac.code, 0, uac.out);
    assert.equal(counted(uac, 'Successful'), 1);
    assert.equal(counted(uas, 'Successful'), 1, uas.out);
    assert.ok(rtpPackets >= 50, `RTP packets to the SDP answer's port: ${rtpPackets}`);
  });

  it('hangs up itself after 10 s when Asterisk does not', { skip: NO_SIPP }, async () => {
    const { uac, uas } = await call('pw', 'pw', 'caller-hangs-up');
    assert.equal(uac.code, 0, uac.out);
    assert.equal(counted(uas, 'Successful'), 1, uas.out);
  });

  it('fails (exit 1) on a wrong password and on congestion (503 with no ari-gateway)', { skip: NO_SIPP }, async () => {
    const wrong = await call('wrong', 'right', 'asterisk-hangs-up');
    assert.equal(wrong.uac.code, 1, wrong.uac.out);
    assert.equal(counted(wrong.uac, 'Failed'), 1);
    const congestion = await call('pw', 'pw', 'congestion');
    assert.equal(congestion.uac.code, 1, congestion.uac.out);
    assert.equal(counted(congestion.uac, 'Failed'), 1);
    assert.equal(counted(congestion.uas, 'Successful'), 1, `the 503 was acknowledged: ${congestion.uas.out}`);
  });
});
