/**
 * Property-based tests (fast-check) against a real gateway process: random and adversarial
 * payloads at every command subject and at unknown ones, and random frames on its ARI WebSocket.
 * Every reply must be a well-formed envelope, no request may reach an ARI path outside the
 * command's own, and the gateway must keep serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AriSimulator } from '@avb/ari-simulator';
import { Commands, ERROR_CODES, isCommandName, MAX_COMMAND_BYTES, Reply, subjects, type CommandName } from '@avb/contracts';
import fc from 'fast-check';
import { connect, Empty, type NatsConnection } from 'nats';
import { collect, type Collector } from './harness/gateway-client.js';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { waitUntil } from './harness/util.js';

const APP = 'ai_app';
const NODE = 'prop';
const ARI_USER = 'avb';
const ARI_PASSWORD = 'S3cr3t-prop-ari-8080';
const NUM_RUNS = Number(process.env.AVB_PROPERTY_RUNS ?? 300);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One encoded path segment of a valid id (AriId after encodeURIComponent). */
const ID = '[A-Za-z0-9](?:[A-Za-z0-9._-]|%3A|%40)*';
/** The only ARI requests each command may cause: method and raw path. */
const ALLOWED: Record<CommandName, { method: string; path: RegExp }> = {
  'channels.list': { method: 'GET', path: /^\/ari\/channels$/ },
  'channels.get': { method: 'GET', path: new RegExp(`^/ari/channels/${ID}$`) },
  'channels.answer': { method: 'POST', path: new RegExp(`^/ari/channels/${ID}/answer$`) },
  'channels.hangup': { method: 'DELETE', path: new RegExp(`^/ari/channels/${ID}$`) },
  'channels.continue': { method: 'POST', path: new RegExp(`^/ari/channels/${ID}/continue$`) },
  'channels.externalMedia': { method: 'POST', path: /^\/ari\/channels\/externalMedia$/ },
  'bridges.list': { method: 'GET', path: /^\/ari\/bridges$/ },
  'bridges.get': { method: 'GET', path: new RegExp(`^/ari/bridges/${ID}$`) },
  'bridges.create': { method: 'POST', path: new RegExp(`^/ari/bridges(/${ID})?$`) },
  'bridges.destroy': { method: 'DELETE', path: new RegExp(`^/ari/bridges/${ID}$`) },
  'bridges.addChannel': { method: 'POST', path: new RegExp(`^/ari/bridges/${ID}/addChannel$`) },
  'bridges.removeChannel': { method: 'POST', path: new RegExp(`^/ari/bridges/${ID}/removeChannel$`) },
};
const COMMAND_NAMES = Object.keys(Commands) as CommandName[];

/** Strings an attacker would try in an id or any other field. */
const HOSTILE_STRINGS = [
  '..', '.', '../bridges/x', '..%2F..%2Fbridges', '%2F', '%2e%2e', 'a/b', '/', 'x?y=1', 'x#frag', 'a%00b', 'a\u0000b',
  'a\r\nX-Injected: 1', '\r\n\r\nGET / HTTP/1.1', 'é', '\u202e\u0041', '😀', ' ', '', 'a b', 'a;b', 'a,b', '*', '>',
  'x'.repeat(129), 'y'.repeat(10_000), '__proto__', 'constructor', 'prototype', 'channels', 'events?app=x',
  '127.0.0.1:9', 'h:99999', '[::1]:9', 'javascript:alert(1)', '${jndi:ldap://x}', '1795478615.15',
];
const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,20}$/),
  fc.tuple(fc.constantFrom('', 'a', '1.1'), fc.constantFrom('/', '..', '%2F', '?', '#', '\r\n', '\u0000', '%'), fc.string({ maxLength: 8 }))
    .map(([a, b, c]) => a + b + c),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(hostileString, { maxLength: 20 }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'a', 'toString'), hostileString, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Keys of the command's own params plus ones that pollute prototypes or are simply unknown. */
function paramsFor(command: CommandName): fc.Arbitrary<Record<string, unknown>> {
  const own = Object.keys(Commands[command].params.shape);
  const keys = [...own, '__proto__', 'constructor', 'prototype', 'app', 'url', 'path', 'method'];
  return fc
    .array(fc.tuple(fc.constantFrom(...keys), hostileValue), { maxLength: 8 })
    .map((entries) => {
      // defineProperty, so `__proto__` becomes an own key of the JSON, as an attacker sends it.
      const obj: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        // Never point the simulator's AudioSocket client at a real host: only at a closed loopback port.
        const value = k === 'external_host' && typeof v === 'string' && /:[0-9]{1,5}$/.test(v) ? '127.0.0.1:9' : v;
        Object.defineProperty(obj, k, { value, enumerable: true, configurable: true, writable: true });
      }
      return obj;
    });
}

/** Ids that exist in the simulator while the test runs (set in `before`), plus random valid ones. */
const liveIds: string[] = ['placeholder'];
const validId = fc.oneof(fc.nat(99).map((i) => liveIds[i % liveIds.length]!), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,30}$/));
const dialplan = fc.stringMatching(/^[A-Za-z0-9_+*#.-]{1,12}$/);

/** Params each command's schema accepts, so valid requests (and ARI's answers to them) are exercised too. */
function validParamsFor(command: CommandName): fc.Arbitrary<Record<string, unknown>> {
  const channel = fc.oneof(validId, fc.array(validId, { minLength: 1, maxLength: 3 }));
  switch (command) {
    case 'channels.list':
    case 'bridges.list':
      return fc.constant({});
    case 'channels.get':
    case 'channels.answer':
      return fc.record({ channelId: validId });
    case 'channels.hangup':
      return fc.record({ channelId: validId, reason: fc.constantFrom('normal', 'busy', 'congestion') }, { requiredKeys: ['channelId'] });
    case 'channels.continue':
      return fc.record({ channelId: validId, context: dialplan, extension: dialplan, priority: fc.integer({ min: 1, max: 9 }) }, { requiredKeys: ['channelId'] });
    case 'channels.externalMedia':
      return fc.record({
        channelId: validId, external_host: fc.constant('127.0.0.1:9'), format: fc.constantFrom('slin16', 'ulaw'),
        encapsulation: fc.constantFrom('audiosocket', 'rtp'), transport: fc.constantFrom('tcp', 'udp'), data: fc.stringMatching(/^[ -~]{1,20}$/),
      }, { requiredKeys: ['external_host', 'format'] });
    case 'bridges.get':
    case 'bridges.destroy':
      return fc.record({ bridgeId: validId });
    case 'bridges.create':
      return fc.record({ bridgeId: validId, type: fc.constantFrom('mixing', 'holding', 'mixing,dtmf_events'), name: fc.stringMatching(/^[ -~]{0,20}$/) }, { requiredKeys: [] });
    case 'bridges.addChannel':
      return fc.record({ bridgeId: validId, channel, role: fc.constantFrom('a', 'b'), mute: fc.boolean() }, { requiredKeys: ['bridgeId', 'channel'] });
    case 'bridges.removeChannel':
      return fc.record({ bridgeId: validId, channel });
  }
}

/** Valid params, or valid params with one field replaced by (or one key added with) a hostile value. */
function nearlyValidParamsFor(command: CommandName): fc.Arbitrary<Record<string, unknown>> {
  const keys = [...Object.keys(Commands[command].params.shape), '__proto__', 'constructor', 'extra'];
  return fc.tuple(validParamsFor(command), fc.option(fc.tuple(fc.constantFrom(...keys), hostileValue), { freq: 2 })).map(([params, mutation]) => {
    if (mutation === null) return params;
    const [key, v] = mutation;
    const value = key === 'external_host' && typeof v === 'string' && /:[0-9]{1,5}$/.test(v) ? '127.0.0.1:9' : v;
    const out = { ...params };
    Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
    return out;
  });
}

/** A payload as bytes: nearly valid params, a hostile params object, any JSON, raw bytes, or a large one. */
function payloadFor(command: CommandName): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: nearlyValidParamsFor(command).map((o) => encoder.encode(JSON.stringify(o))) },
    { weight: 4, arbitrary: paramsFor(command).map((o) => encoder.encode(JSON.stringify(o))) },
    fc.jsonValue({ maxDepth: 4 }).map((v) => encoder.encode(JSON.stringify(v) ?? '')),
    fc.uint8Array({ maxLength: 512 }),
    fc.constantFrom(
      '', 'null', '[]', '{', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}',
      `{"channelId":"a","__proto__":{"channelId":"../x"}}`, '"string"', '1e999', '{"channelId":"a","channelId":"../x"}',
    ).map((s) => encoder.encode(s)),
    fc.integer({ min: MAX_COMMAND_BYTES - 64, max: MAX_COMMAND_BYTES * 8 }).map((size) =>
      encoder.encode(JSON.stringify({ channelId: 'a', bridgeId: 'b', pad: 'x'.repeat(size) }))),
  );
}

/** Params the command's schema accepts (so a success reply is legitimate), as parsed JSON. */
function isValidParams(command: CommandName, data: Uint8Array): boolean {
  if (data.length > MAX_COMMAND_BYTES) return false;
  let raw: unknown = {};
  try {
    if (data.length > 0) raw = JSON.parse(decoder.decode(data));
  } catch {
    return false;
  }
  return Commands[command].params.safeParse(raw).success;
}

describe('property: hostile input against a real gateway', () => {
  let nats: NatsServer;
  let sim: AriSimulator;
  let gateway: ServiceProcess;
  let nc: NatsConnection;
  let events: Collector;

  const request = async (subject: string, data: Uint8Array): Promise<Reply> => {
    const msg = await nc.request(subject, data, { timeout: 5000 });
    return Reply.parse(JSON.parse(decoder.decode(msg.data)));
  };
  const stats = async () => {
    const msg = await nc.request('$SRV.STATS.ari-gateway', Empty, { timeout: 2000 });
    return (JSON.parse(decoder.decode(msg.data)) as { endpoints: Array<{ data: { framesDropped: Record<string, number>; publishFailed: Record<string, number> } }> }).endpoints[0]!.data;
  };
  const stillServes = async () => {
    const reply = await request(subjects.ariCommand(APP, NODE, 'channels.list'), encoder.encode('{}'));
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.equal(gateway.child.exitCode, null, 'gateway still running');
  };

  before(async () => {
    nats = await startNatsServer();
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD, mediaConnectTimeoutMs: 200 });
    gateway = startService('ari-gateway', {
      NATS_URL: nats.url, ARI_BASE_URL: sim.baseUrl, ARI_USER, ARI_PASSWORD, ARI_APP: APP, ARI_NODE: NODE,
      ARI_HTTP_TIMEOUT: '2', ARI_RECONNECT_MIN_MS: '50', LOG_LEVEL: 'info',
    });
    await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
    nc = await connect({ servers: nats.url, name: 'property-test' });
    events = collect(nc, subjects.ariEvents(APP, NODE));
    await nc.flush();
    // Real channels and a bridge, so some random commands hit existing resources.
    liveIds.length = 0;
    for (let i = 0; i < 4; i++) liveIds.push(sim.placeCall().channelId);
    liveIds.push('prop-bridge-1');
    const created = await request(subjects.ariCommand(APP, NODE, 'bridges.create'), encoder.encode('{"bridgeId":"prop-bridge-1"}'));
    assert.equal(created.ok, true);
  });

  after(async () => {
    await nc?.close().catch(() => undefined);
    await gateway?.stop('SIGTERM', 5000);
    await sim?.stop();
    await nats?.stop();
  });

  for (const command of COMMAND_NAMES) {
    it(`${command}: every reply is a well-formed envelope and ARI sees only ${ALLOWED[command].method} ${ALLOWED[command].path.source}`, async () => {
      const subject = subjects.ariCommand(APP, NODE, command);
      const allowedQuery = new Set([...Object.keys(Commands[command].params.shape), 'app']);
      let reachedAri = 0;
      await fc.assert(
        fc.asyncProperty(payloadFor(command), async (data) => {
          const from = sim.requests.length;
          const reply = await request(subject, data);
          const valid = isValidParams(command, data);
          const made = sim.requests.slice(from);
          if (!reply.ok) {
            assert.ok(ERROR_CODES.includes(reply.error.code));
            assert.ok(reply.error.message.length <= 2000, 'bounded error message');
          }
          if (!valid) {
            assert.equal(reply.ok, false, `invalid params accepted: ${decoder.decode(data).slice(0, 200)}`);
            assert.equal(reply.ok ? undefined : reply.error.code, 'bad_request');
            assert.deepEqual(made, [], 'refused input reached ARI');
            return;
          }
          if (reply.ok) {
            const result = Commands[command].result.safeParse(reply.result);
            assert.ok(result.success, `result of ${command} does not match its schema`);
          }
          assert.ok(made.length <= 1, `one ARI request per command, got ${made.length}`);
          reachedAri += made.length;
          for (const r of made) {
            assert.equal(r.method, ALLOWED[command].method, `${command} used ${r.method}`);
            assert.match(r.path, ALLOWED[command].path, `${command} reached ${r.path}`);
            for (const key of Object.keys(r.query)) assert.ok(allowedQuery.has(key), `${command} sent query ${key}`);
          }
        }),
        { numRuns: NUM_RUNS, endOnFailure: true },
      );
      assert.ok(reachedAri >= NUM_RUNS / 10, `valid input exercised too: ${reachedAri} ARI requests`);
      await stillServes();
    });
  }

  it('unknown command subjects are refused with bad_request and reach nothing', async () => {
    const token = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_$%#:@+=-]{1,24}$/),
      // Any UTF-8 a subject token may hold: unicode, control characters, `..`-free path-like pieces.
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((t) => /^[^\s.*>]+$/u.test(t)),
      fc.constantFrom('%2F', '%2e%2e', '%2E%2E%2F', '?x=1', '#x', 'é', '😀', '\u202e', 'a\u0000b', 'x'.repeat(200)),
    );
    const subject = fc.oneof(
      fc.tuple(token, token).map(([r, a]) => `${r}.${a}`),
      fc.tuple(fc.constantFrom('channels', 'bridges', 'applications', 'asterisk', 'events', 'recordings'), token).map(([r, a]) => `${r}.${a}`),
      fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.')),
      fc.constantFrom('channels.get.extra', 'channels', 'channels.__proto__', '__proto__.constructor', 'constructor.prototype', 'bridges.hasOwnProperty', 'channels.toString'),
    ).filter((name) => !isCommandName(name));
    const before = sim.requests.length;
    await fc.assert(
      fc.asyncProperty(subject, payloadFor('channels.get'), async (name, data) => {
        const reply = await request(`ari.command.${APP}.${NODE}.${name}`, data);
        assert.equal(reply.ok, false);
        assert.equal(reply.ok ? undefined : reply.error.code, 'bad_request');
        assert.match(reply.ok ? '' : reply.error.message, /unknown command/);
      }),
      { numRuns: NUM_RUNS * 2, endOnFailure: true },
    );
    assert.equal(sim.requests.length, before, 'no ARI request for unknown commands');
    await stillServes();
  });

  it('random frames on the ARI WebSocket: none crashes the gateway, drops are counted, valid frames still relay', async () => {
    const droppedBefore = Object.values((await stats()).framesDropped).reduce((a, b) => a + b, 0);
    const fromEvents = events.msgs.length;
    const frame = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'undefined'),
      fc.record({ type: hostileValue }).map((o) => JSON.stringify(o)),
      fc.record({ type: fc.constantFrom('StasisStart', 'StasisEnd', 'ChannelDestroyed'), channel: hostileValue, args: hostileValue, application: hostileValue })
        .map((o) => JSON.stringify(o)),
      fc.constantFrom(
        '{"type":"__proto__"}', '{"type":"constructor"}', '{"__proto__":{"type":"x"}}', '{"type":"a.b.>"}', '{"type":"*"}',
        `{"type":"${'T'.repeat(65)}"}`, '{"type":"ChannelVarset","value":"\\ud800"}',
      ),
    );
    let sent = 0;
    await fc.assert(
      fc.property(frame, (data) => {
        sim.sendRaw(APP, data);
        sent += 1;
      }),
      { numRuns: NUM_RUNS * 2 },
    );
    // Frames beyond what NATS takes in one message (1 MB by default) and a frame of pure garbage.
    sim.sendRaw(APP, JSON.stringify({ type: 'ChannelVarset', value: 'v'.repeat(1_100_000) }));
    sim.sendRaw(APP, 'x'.repeat(2_000_000));
    sent += 2;
    const call = sim.placeCall();
    await waitUntil(
      () => events.json<{ type: string; channel?: { id: string } }>().some((e) => e.type === 'StasisStart' && e.channel?.id === call.channelId),
      5000, 'a valid frame relayed after the random ones',
    );
    sim.hangup(call.channelId);
    for (const m of events.msgs.slice(fromEvents)) {
      const parsed = JSON.parse(m.data) as { type: string };
      assert.equal(m.subject, subjects.ariEvent(APP, NODE, parsed.type), 'relayed under its own type');
    }
    const after = await stats();
    const droppedAfter = Object.values(after.framesDropped).reduce((a, b) => a + b, 0);
    const tooLarge = after.publishFailed.too_large ?? 0;
    const relayed = events.msgs.length - fromEvents;
    assert.ok(droppedAfter > droppedBefore, 'drops counted');
    // The 1.1 MB event is valid but larger than NATS takes: counted as a failed publish, not a crash.
    assert.equal(tooLarge, 1);
    // Every frame sent was relayed or counted (the placed call adds its own events).
    assert.ok(droppedAfter - droppedBefore + tooLarge + relayed >= sent, `sent ${sent}, dropped ${droppedAfter - droppedBefore}, relayed ${relayed}`);
    await stillServes();
  });

  it('leaves nothing in the simulator once the created bridges are destroyed through the gateway', async () => {
    for (const b of sim.bridges()) {
      const reply = await request(subjects.ariCommand(APP, NODE, 'bridges.destroy'), encoder.encode(JSON.stringify({ bridgeId: b.id })));
      assert.equal(reply.ok, true, JSON.stringify(reply));
    }
    for (const c of sim.channels()) {
      const reply = await request(subjects.ariCommand(APP, NODE, 'channels.hangup'), encoder.encode(JSON.stringify({ channelId: c.id })));
      assert.ok(reply.ok || reply.error.code === 'not_found', JSON.stringify(reply));
    }
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 5000, 'nothing left');
    for (const line of gateway.lines) assert.ok(!line.raw.includes(ARI_PASSWORD), 'ARI password in a log line');
  });
});
