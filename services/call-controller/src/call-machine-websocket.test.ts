/**
 * The call machine with chan_websocket media (issue 14), transition by transition: server mode
 * (media_ready with the connection id before started, the id in the state, our own connect
 * timeout), client mode, a channel that goes before it connects, a reply without connection id,
 * fresh ids on takeover, and what the media path monitor is told.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallEvent, CallState } from '@avb/contracts';
import { initialState, step, type Effect, type Env, type MachineState, type Message, type StoredCall } from './call-machine.js';
import type { MediaSettings } from './media-plan.js';

const SERVER: MediaSettings = {
  transport: 'websocket', encapsulation: 'none', connection: 'server', format: 'slin16', stasisTimeoutMs: 10_000, slowMs: 2000,
  urls: { '*': 'ws://asterisk:8088/media', pbx2: 'ws://pbx2:8088/media' },
};
const CLIENT: MediaSettings = {
  transport: 'websocket', encapsulation: 'none', connection: 'client', clientId: 'media_connection1', format: 'slin16', stasisTimeoutMs: 10_000, slowMs: 2000,
};
const CONN = '9f0c2c53-0e6b-4a38-9b0e-4b1e3d3a1f10';

/** One call's machine, driven message by message; `fx` holds the effects of the last one. */
class Driver {
  state: MachineState = initialState();
  fx: Effect[] = [];
  private uuids = 0;
  clock = 1000;
  readonly env: Env;

  constructor(media: MediaSettings, mediaFailureAction: 'hangup' | 'continue' = 'hangup') {
    this.env = {
      settings: { app: 'ai_app', instance: 'i1', media, mediaFailureAction, mediaCheckMs: 1000 },
      now: () => 1_700_000_000_000 + this.clock,
      mono: () => this.clock,
      uuid: () => `00000000-0000-4000-8000-${String(++this.uuids).padStart(12, '0')}`,
    };
  }

  send(msg: Message): Effect[] {
    const next = step(this.state, msg, this.env);
    this.state = next.state;
    this.fx = next.effects;
    return this.fx;
  }

  get gen() {
    return this.state.gen;
  }

  start(opts: { redelivered?: boolean; node?: string } = {}) {
    return this.send({
      type: 'start', delivery: { id: 1, redelivered: opts.redelivered ?? false }, node: opts.node ?? 'pbx1', channelId: '1795.1',
      caller: { number: '100', name: '' }, entry: { seq: 1, dialplan: 'ai-in,100,1,ai_app' }, receivedAt: this.clock,
    });
  }

  stored(op: Extract<Message, { type: 'stored' }>['op'], outcome: 'ok' | 'conflict' | 'unavailable' = 'ok', extra: { revision?: number; found?: StoredCall } = {}) {
    return this.send(outcome === 'ok' ? { type: 'stored', gen: this.gen, op, outcome, ...extra } : { type: 'stored', gen: this.gen, op, outcome });
  }

  ari(st: Extract<Message, { type: 'ari' }>['step'], result: { ok: true; result?: unknown } | { ok: false; code: string } = { ok: true }) {
    return this.send({ type: 'ari', gen: this.gen, step: st, ...result } as Message);
  }

  timer(name: Extract<Message, { type: 'timer' }>['name']) {
    return this.send({ type: 'timer', gen: this.gen, name });
  }

  /** Up to the externalMedia request: state created, answer, bridge and pointer done. */
  untilMediaSent() {
    this.start();
    this.stored('create', 'ok', { revision: 1 });
    const sent = this.fx;
    this.ari('answer');
    this.ari('bridge');
    this.stored('pointer');
    return sent;
  }

  get call() {
    return this.state.call!;
  }
}

const ofType = <T extends Effect['type']>(fx: Effect[], type: T) => fx.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
const published = (fx: Effect[]): CallEvent[] => ofType(fx, 'publish').map((e) => e.event);
const ariSent = (fx: Effect[]) => ofType(fx, 'ari').map((e) => `${e.step} ${e.command}`);
const stores = (fx: Effect[]) => ofType(fx, 'store');
const mediaPath = (fx: Effect[]) => ofType(fx, 'media_path').map((e) => e.event.kind);
const reply = (connectionId: string | null = CONN) => ({ ok: true as const, result: { id: 'x', channelvars: connectionId === null ? {} : { MEDIA_WEBSOCKET_CONNECTION_ID: connectionId, MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' } } });

describe('call machine, chan_websocket server mode', () => {
  it('asks for INCOMING with the session UUID as channel id and data, and waits for the connection', () => {
    const d = new Driver(SERVER);
    const sent = d.untilMediaSent();
    const media = ofType(sent, 'ari').find((e) => e.step === 'media')!;
    const id = d.call.ids.sessionId;
    assert.deepEqual(media.params, {
      channelId: id, format: 'slin16', data: id, transport: 'websocket', encapsulation: 'none', connection_type: 'server', external_host: 'INCOMING',
    });
    assert.equal(d.call.ids.externalChannelId, id);
    const timers = Object.fromEntries(ofType(sent, 'timer').map((t) => [t.name, t.ms]));
    assert.deepEqual(timers, { media_timeout: 10_000, media_check: 1000, media_slow: 2000 });
  });

  it('publishes media_ready with the connection id and URL as soon as externalMedia answers, writes them, then starts', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    const fx = d.ari('media', reply());
    const [ready] = published(fx);
    const url = `ws://asterisk:8088/media/${CONN}`;
    assert.equal(ready?.kind, 'media_ready');
    assert.deepEqual(ready.media, { connection: 'server', connectionId: CONN, url });
    assert.equal(ready.setupMs, undefined);
    const [note] = stores(fx);
    assert.equal(note?.op, 'note');
    assert.deepEqual((note as { state: CallState }).state.media, { connection: 'server', connectionId: CONN, url });
    assert.equal((note as { revision: number }).revision, 1);
    // The media server connected: the channel is in Stasis; bridged while the note is in flight.
    assert.deepEqual(ariSent(d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId })), ['add bridges.addChannel']);
    assert.deepEqual(stores(d.ari('add')), [], 'activation waits for the note');
    const act = stores(d.stored('note', 'ok', { revision: 2 }));
    assert.deepEqual(act.map((e) => [e.op, (e as { revision: number }).revision]), [['activate', 2]]);
    assert.equal((act[0] as { state: CallState }).state.media?.connectionId, CONN);
    const [started] = published(d.stored('activate', 'ok', { revision: 3 }));
    assert.equal(started?.kind, 'started');
    assert.equal(started.media?.connectionId, CONN);
  });

  it('uses the node\'s own media URL when one is set for it', () => {
    const d = new Driver(SERVER);
    d.start({ node: 'pbx2' });
    d.stored('create', 'ok', { revision: 1 });
    assert.equal(published(d.ari('media', reply()))[0]?.media?.url, `ws://pbx2:8088/media/${CONN}`);
  });

  it('ends a call whose media socket never connects at our own timeout: failed, media_connect:timeout', () => {
    for (const action of ['hangup', 'continue'] as const) {
      const d = new Driver(SERVER, action);
      d.untilMediaSent();
      d.ari('media', reply());
      d.stored('note', 'ok', { revision: 2 });
      const fx = d.timer('media_timeout');
      assert.deepEqual(mediaPath(fx), ['timeout']);
      const claim = stores(fx).find((e) => e.op === 'claim') as { revision: number } | undefined;
      assert.equal(claim?.revision, 2, 'claimed with the note\'s revision');
      const ended = d.stored('claim');
      const [failed] = published(ended);
      assert.equal(failed?.kind, 'failed');
      assert.equal(failed.cause, 'setup_failed:media_connect:timeout');
      assert.deepEqual(ariSent(ended).sort(), ['caller channels.' + (action === 'hangup' ? 'hangup' : 'continue'), 'rm_bridge bridges.destroy', 'rm_media channels.hangup'].sort());
    }
  });

  it('a media channel gone before it connected (Asterisk\'s own timeout) ends the call as media_connect:not_found', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    d.ari('media', reply());
    d.stored('note', 'ok', { revision: 2 });
    assert.deepEqual(ariSent(d.timer('media_check')), ['media_check channels.get']);
    d.ari('media_check', { ok: false, code: 'not_found' });
    const [failed] = published(d.stored('claim'));
    assert.equal(failed?.cause, 'setup_failed:media_connect:not_found');
  });

  it('a reply without connection id fails the setup (nobody could connect) and removes the channel', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    const fx = d.ari('media', reply(null));
    assert.deepEqual(published(fx), [], 'no media_ready');
    const ended = d.stored('claim');
    assert.equal(published(ended)[0]?.cause, 'setup_failed:media:no_connection_id');
    assert.ok(ariSent(ended).includes('rm_media channels.hangup'));
  });

  it('publishes no media_ready when the caller has gone meanwhile, and still removes the channel', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    d.send({ type: 'end', delivery: { id: 2, redelivered: false }, node: 'pbx1', channelId: '1795.1', who: 'caller', entry: { seq: 2, dialplan: 'ai-in,100,1,ai_app' } });
    const fx = d.ari('media', reply());
    assert.deepEqual(published(fx).map((e) => e.kind), []);
    assert.ok(stores(fx).some((e) => e.op === 'claim'));
    const ended = d.stored('claim');
    assert.equal(published(ended)[0]?.cause, 'caller_hangup_during_setup');
    assert.ok(ariSent(ended).includes('rm_media channels.hangup'));
  });

  it('a caller gone while the connection id is being written: the claim waits for the write', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    d.ari('media', reply());
    const fx = d.send({ type: 'end', delivery: { id: 2, redelivered: false }, node: 'pbx1', channelId: '1795.1', who: 'caller', entry: { seq: 2, dialplan: 'ai-in,100,1,ai_app' } });
    assert.deepEqual(stores(fx), []);
    const claim = stores(d.stored('note', 'ok', { revision: 2 }));
    assert.deepEqual(claim.map((e) => [e.op, (e as { revision: number }).revision]), [['claim', 2]]);
  });

  it('a lost write of the id is decided by the next compare-and-set (activation reads the state again)', () => {
    const d = new Driver(SERVER);
    d.untilMediaSent();
    d.ari('media', reply());
    d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId });
    d.ari('add');
    const fx = d.stored('note', 'conflict');
    assert.deepEqual(stores(fx).map((e) => [e.op, (e as { revision: number }).revision]), [['activate', 1]]);
    const read = stores(d.stored('activate', 'conflict'));
    assert.equal(read[0]?.op, 'read');
    // Ended and claimed elsewhere meanwhile: remove only what this actor created, report nothing.
    const fx2 = d.stored('read', 'ok', {});
    assert.deepEqual(published(fx2), []);
    assert.deepEqual(ariSent(fx2).sort(), ['rm_bridge bridges.destroy', 'rm_media channels.hangup']);
  });

  it('takes over a call left in setup with a fresh media channel id, and removes the old one', () => {
    const d = new Driver(SERVER);
    const old: CallState = {
      app: 'ai_app', node: 'pbx1', channelId: '1795.1', sessionId: 'aaaaaaaa-0000-4000-8000-000000000001', bridgeId: 'b-old',
      externalChannelId: 'aaaaaaaa-0000-4000-8000-000000000001', phase: 'setup', owner: 'i0', callerNumber: '100', callerName: '',
      startedAt: 't', updatedAt: 't', entry: { seq: 1, dialplan: 'ai-in,100,1,ai_app' },
      media: { connection: 'server', connectionId: 'old-conn', url: 'ws://asterisk:8088/media/old-conn' },
    };
    d.start({ redelivered: true });
    const fx = d.stored('read', 'ok', { found: { state: old, revision: 7 } });
    const takeover = stores(fx)[0] as { op: string; state: CallState };
    assert.equal(takeover.op, 'takeover');
    assert.notEqual(takeover.state.externalChannelId, old.externalChannelId);
    assert.equal(takeover.state.media, undefined, 'not the predecessor\'s connection');
    const recorded = d.stored('takeover', 'ok', { revision: 8 });
    const media = ofType(recorded, 'ari').find((e) => e.step === 'media')!;
    const rmOld = ofType(recorded, 'ari').find((e) => e.step === 'rm_old_media')!;
    assert.equal((rmOld.params as { channelId: string }).channelId, old.externalChannelId);
    assert.notEqual((media.params as { channelId: string }).channelId, old.externalChannelId);
  });
});

describe('call machine, chan_websocket client mode', () => {
  it('names the websocket_client, publishes no media_ready and writes nothing extra; started carries the connection', () => {
    const d = new Driver(CLIENT);
    const sent = d.untilMediaSent();
    const media = ofType(sent, 'ari').find((e) => e.step === 'media')!;
    assert.equal((media.params as { external_host: string }).external_host, 'media_connection1');
    assert.equal((media.params as { connection_type: string }).connection_type, 'client');
    const fx = d.ari('media', reply('media_connection1'));
    assert.deepEqual(published(fx), []);
    assert.deepEqual(stores(fx), []);
    d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId });
    const act = stores(d.ari('add'));
    assert.equal(act[0]?.op, 'activate');
    const [started] = published(d.stored('activate', 'ok', { revision: 2 }));
    assert.deepEqual(started?.media, { connection: 'client', connectionId: 'media_connection1' });
  });

  it('tells the media path monitor: slow, then up and no longer slow; a timed-out externalMedia', () => {
    const d = new Driver(CLIENT);
    d.untilMediaSent();
    const slow = d.timer('media_slow');
    assert.deepEqual(mediaPath(slow), ['slow']);
    assert.ok(ofType(slow, 'log').some((l) => l.msg === 'media channel slow to come up'));
    d.ari('media', reply('media_connection1'));
    d.clock += 2500;
    const up = d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId });
    assert.deepEqual(mediaPath(up), ['up', 'slow_over']);
    assert.equal(ofType(up, 'media_path')[0]?.event.kind === 'up' && (ofType(up, 'media_path')[0]!.event as { ms: number }).ms, 2500);

    const t = new Driver(CLIENT);
    t.untilMediaSent();
    assert.deepEqual(mediaPath(t.ari('media', { ok: false, code: 'timeout' })), ['timeout']);
    for (let i = 0; i < 3; i += 1) {
      t.timer('retry:media');
      t.ari('media_find', { ok: false, code: 'not_found' });
      t.ari('media', { ok: false, code: 'timeout' });
    }
    assert.equal(published(t.stored('claim'))[0]?.cause, 'setup_failed:media:timeout', 'after three tries');
  });

  it('tells the monitor nothing when it does not watch (no slowMs)', () => {
    const { slowMs: _unused, ...quiet } = CLIENT;
    const d = new Driver(quiet as MediaSettings);
    const sent = d.untilMediaSent();
    assert.ok(!ofType(sent, 'timer').some((t) => t.name === 'media_slow'));
    d.ari('media', reply('media_connection1'));
    assert.deepEqual(mediaPath(d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId })), []);
  });
});

describe('call machine, an externalMedia lost with a NATS server (rolling restart, CI of stop 18)', () => {
  it('its reply lost: the channel is looked up, found, and the call goes on without a second externalMedia', () => {
    const d = new Driver(CLIENT);
    d.untilMediaSent();
    const timedOut = d.ari('media', { ok: false, code: 'timeout' });
    assert.deepEqual(ofType(timedOut, 'timer').map((t) => [t.name, t.ms]), [['retry:media', 100]]);
    assert.deepEqual(published(timedOut), [], 'no failure yet');
    const find = ofType(d.timer('retry:media'), 'ari');
    assert.deepEqual(find.map((e) => [e.step, e.command, (e.params as { channelId: string }).channelId]), [['media_find', 'channels.get', d.call.ids.externalChannelId]]);
    const found = d.ari('media_find', { ok: true, result: { id: d.call.ids.externalChannelId, dialplan: { app_name: 'Stasis' }, channelvars: { MEDIA_WEBSOCKET_CONNECTION_ID: 'media_connection1' } } });
    assert.deepEqual(ariSent(found), ['add bridges.addChannel'], 'in Stasis already: bridged at once');
    d.ari('add');
    const [started] = published(d.stored('activate', 'ok', { revision: 2 }));
    assert.equal(started?.kind, 'started');
  });

  it('its request lost: the channel is not found, so externalMedia goes again with the same id', () => {
    const d = new Driver(CLIENT);
    const first = ofType(d.untilMediaSent(), 'ari').find((e) => e.step === 'media')!;
    d.ari('media', { ok: false, code: 'timeout' });
    d.timer('retry:media');
    const again = ofType(d.ari('media_find', { ok: false, code: 'not_found' }), 'ari');
    assert.deepEqual(again.map((e) => e.step), ['media']);
    assert.deepEqual(again[0]!.params, first.params);
    d.ari('media', reply('media_connection1'));
    assert.deepEqual(ariSent(d.send({ type: 'media_start', channelId: d.call.ids.externalChannelId })), ['add bridges.addChannel']);
  });

  it('the lookup fails too: looked up again later; after three tries the setup fails and removes the channel', () => {
    const d = new Driver(CLIENT);
    d.untilMediaSent();
    d.ari('media', { ok: false, code: 'timeout' });
    for (let i = 0; i < 3; i += 1) {
      d.timer('retry:media');
      d.ari('media_find', { ok: false, code: 'timeout' });
    }
    const claimed = d.stored('claim');
    assert.equal(published(claimed)[0]?.cause, 'setup_failed:media:timeout');
    assert.ok(ariSent(claimed).includes('rm_media channels.hangup'), 'a channel created late is hung up');
  });
});
