/**
 * The call machine, transition by transition (issue 15): every phase, reached by a short script,
 * is given each message it may get, and what it does (next phase, effects, what it notes) is
 * compared with the table below. Reading the table is reading the rules; a change of a rule
 * shows as a changed row. Scenario tests after it walk whole paths (defects 3, 7, 10).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STALE_START_MS, initialState, step, entryOf, type Env, type MachineState, type Message, type Effect } from './call-machine.js';

let n = 0;
const env: Env = {
  settings: { app: 'ai_app', instance: 'i1', mediaFailureAction: 'hangup', mediaCheckMs: 1000, media: { externalHost: 'h:1', format: 'slin16', encapsulation: 'audiosocket', transport: 'tcp', stasisTimeoutMs: 5000 } },
  now: () => 1_700_000_000_000, mono: () => 1000, uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
};
const E1 = entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 10);
const E2 = entryOf({ context: 'ai-in', exten: '100', priority: 3, app_data: 'ai_app' }, 20);
const d = (id: number, redelivered = false) => ({ id, redelivered });
const start = (id: number, entry = E1, redelivered = false): Message => ({ type: 'start', delivery: d(id, redelivered), node: 'pbx1', channelId: 'c1', caller: { number: '1', name: 'A' }, entry, receivedAt: 0 });
const summary = (fx: Effect[]) => fx.map((e) => {
  switch (e.type) {
    case 'ari': return `ari:${e.step}`;
    case 'store': return `store:${e.op}`;
    case 'settle': return `${e.ack ? 'ack' : 'nak'}:${e.delivery.id}`;
    case 'timer': return `timer:${e.name}`;
    case 'cancel': return `cancel:${e.name}`;
    case 'watch_media': return 'watch';
    case 'publish': return `publish:${e.event.kind}${e.event.cause ? `(${e.event.cause})` : ''}`;
    case 'log': return `log:${e.level}`;
    case 'media_path': return `media_path:${e.event.kind}`;
  }
}).filter((x) => !x.startsWith('log:')).join(' ');
const notes = (st: MachineState) => [
  st.gone.caller ? 'caller gone' : '', st.gone.media ? 'media gone' : '', st.failure ? `failure ${st.failure.step}:${st.failure.code}` : '',
  st.queue.length ? `queued ${st.queue.map((j) => j.kind).join('+')}` : '', st.job ? `holds ${st.job.held.map((h) => h.id).join(',')}` : '',
  st.mediaInStasis ? 'media in Stasis' : '', st.stopping ? 'stopping' : '',
].filter(Boolean).join('; ');
function run(msgs: Message[]): MachineState {
  let s = initialState();
  for (const m of msgs) s = step(s, m, env).state;
  return s;
}
const reach: Record<string, Message[]> = {};
reach.recording = [start(1)];
reach.creating = [...reach.recording, { type: 'stored', gen: 1, op: 'create', outcome: 'ok', revision: 5 }];
reach.bridging = [...reach.creating, { type: 'ari', gen: 1, step: 'answer', ok: true }, { type: 'ari', gen: 1, step: 'bridge', ok: true }, { type: 'ari', gen: 1, step: 'media', ok: true }, { type: 'stored', gen: 1, op: 'pointer', outcome: 'ok' }, { type: 'media_start', channelId: '00000000-0000-4000-8000-000000000001' }];
reach.activating = [...reach.bridging, { type: 'ari', gen: 1, step: 'add', ok: true }];
reach.claiming = [...reach.creating, { type: 'ari', gen: 1, step: 'answer', ok: true }, { type: 'ari', gen: 1, step: 'bridge', ok: true }, { type: 'ari', gen: 1, step: 'media', ok: false, code: 'ari_error' }, { type: 'stored', gen: 1, op: 'pointer', outcome: 'ok' }];
reach.clearing = [...reach.claiming, { type: 'stored', gen: 1, op: 'claim', outcome: 'ok' }];
reach.reading = [start(1, E1, true)];
(reach as Record<string, Message[]>)['reading (end)'] = [{ type: 'end', delivery: d(1), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 15) }];
const probes = (phase: string, st: MachineState): Array<[string, Message]> => {
  const gen = st.gen;
  const op: Record<string, string> = { reading: 'read', 'reading (end)': 'read', recording: 'create', activating: 'activate', claiming: 'claim' };
  const list: Array<[string, Message]> = [
    ['start same entry', start(9)],
    ['start later entry', start(9, E2)],
    ['caller StasisEnd', { type: 'end', delivery: d(8), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 15) }],
    ['media StasisEnd', { type: 'end', delivery: d(7), node: 'pbx1', channelId: '00000000-0000-4000-8000-000000000001', who: 'media' }],
    ['media StasisStart', { type: 'media_start', channelId: '00000000-0000-4000-8000-000000000001' }],
    ['timer media_timeout', { type: 'timer', gen, name: 'media_timeout' }],
    ['shutdown', { type: 'shutdown' }],
  ];
  const stored = (phase2: 'setup' | 'active', entry = E1, owner = 'i0'): Message => ({ type: 'stored', gen, op: 'read', outcome: 'ok', found: { revision: 7, state: {
    app: 'ai_app', node: 'pbx1', channelId: 'c1', sessionId: '11111111-1111-4111-8111-111111111111', externalChannelId: '11111111-1111-4111-8111-111111111111',
    bridgeId: 'b0', phase: phase2, owner, callerNumber: '1', callerName: 'A', startedAt: '', updatedAt: '', entry } } });
  if (phase.startsWith('reading')) {
    list.push(['read: same stay, active', stored('active')], ['read: same stay, setup', stored('setup')], ['read: an earlier stay', stored('active', entryOf({ context: 'ai-in', exten: '100', priority: 1, app_data: 'ai_app' }, 5))], ['read: a later stay', stored('active', E2)]);
  }
  if (op[phase]) for (const o of ['ok', 'conflict', 'unavailable'] as const) list.push([`store ${op[phase]} ${o}`, o === 'ok' ? { type: 'stored', gen, op: op[phase] as 'read', outcome: 'ok', revision: 9 } : { type: 'stored', gen, op: op[phase] as 'read', outcome: o }]);
  for (const [st2, v] of Object.entries(st.steps)) if (v === 'pending' && st2 !== 'pointer') {
    list.push([`ari ${st2} ok`, { type: 'ari', gen, step: st2 as 'answer', ok: true }]);
    list.push([`ari ${st2} fails`, { type: 'ari', gen, step: st2 as 'answer', ok: false, code: 'ari_error' }]);
  }
  return list;
};
type Row = [phase: string, message: string, next: string, effects: string, notes: string];
const actual: Row[] = [];
{
  const idle = initialState();
  const endCaller: Message = { type: 'end', delivery: d(8), node: 'pbx1', channelId: 'c1', who: 'caller', entry: E1 };
  const endMedia: Message = { type: 'end', delivery: d(7), node: 'pbx1', channelId: 'm1', who: 'media' };
  const storedCall = { revision: 7, state: { app: 'ai_app', node: 'pbx1', channelId: 'c1', sessionId: '11111111-1111-4111-8111-111111111111', externalChannelId: '11111111-1111-4111-8111-111111111111', bridgeId: 'b0', phase: 'active' as const, owner: 'i0', callerNumber: '1', callerName: 'A', startedAt: '', updatedAt: '', entry: E1 } };
  for (const [name, m] of [
    ['caller StasisStart, first delivery', start(1)], ['caller StasisStart, redelivered', start(1, E1, true)],
    ['caller StasisEnd', endCaller], ['media StasisEnd', endMedia], ['reconciliation: caller gone', { type: 'end_stored', stored: storedCall, cause: 'caller_gone', who: 'caller' }],
    ['media StasisStart', { type: 'media_start', channelId: 'm1' }], ['shutdown', { type: 'shutdown' }],
  ] as Array<[string, Message]>) {
    n = 0;
    const out = step(idle, m, env);
    actual.push(['idle', name, out.state.phase, summary(out.effects), notes(out.state)]);
  }
}
for (const [phase, msgs] of Object.entries(reach)) {
  n = 0;
  const st = run(msgs);
  if (st.phase !== phase.split(' ')[0]) throw new Error(`reached ${st.phase} for ${phase}`);
  for (const [name, m] of probes(phase, st)) {
    const saved = n;
    const out = step(st, m, env);
    n = saved;
    actual.push([phase, name, out.state.phase, summary(out.effects), notes(out.state)]);
  }
}

/** phase, message -> next phase, effects (in order; logs left out), what the state notes. */
const EXPECTED: Row[] = [
    ['idle', 'caller StasisStart, first delivery', 'recording', 'store:create ari:answer', 'holds 1'],
    ['idle', 'caller StasisStart, redelivered', 'reading', 'store:read', 'holds 1'],
    ['idle', 'caller StasisEnd', 'reading', 'store:read', 'holds 8'],
    ['idle', 'media StasisEnd', 'reading', 'store:read', 'holds 7'],
    ['idle', 'reconciliation: caller gone', 'claiming', 'store:claim', 'caller gone; holds '],
    ['idle', 'media StasisStart', 'idle', '', ''],
    ['idle', 'shutdown', 'idle', '', 'stopping'],
    ['recording', 'start same entry', 'recording', '', 'holds 1,9'],
    ['recording', 'start later entry', 'recording', '', 'caller gone; queued start; holds 1'],
    ['recording', 'caller StasisEnd', 'recording', '', 'caller gone; holds 1,8'],
    ['recording', 'media StasisEnd', 'recording', '', 'media gone; holds 1,7'],
    ['recording', 'media StasisStart', 'recording', '', 'holds 1; media in Stasis'],
    ['recording', 'timer media_timeout', 'recording', '', 'holds 1'],
    ['recording', 'shutdown', 'recording', '', 'holds 1; stopping'],
    ['recording', 'store create ok', 'creating', 'store:pointer ari:bridge watch ari:media timer:media_timeout timer:media_check', 'holds 1'],
    ['recording', 'store create conflict', 'reading', 'store:read', 'holds 1'],
    ['recording', 'store create unavailable', 'done', 'nak:1', ''],
    ['recording', 'ari answer ok', 'recording', '', 'holds 1'],
    ['recording', 'ari answer fails', 'recording', '', 'failure answer:ari_error; holds 1'],
    ['creating', 'start same entry', 'creating', '', 'holds 1,9'],
    ['creating', 'start later entry', 'creating', '', 'caller gone; queued start; holds 1'],
    ['creating', 'caller StasisEnd', 'creating', '', 'caller gone; holds 1,8'],
    ['creating', 'media StasisEnd', 'creating', '', 'media gone; holds 1,7'],
    ['creating', 'media StasisStart', 'creating', '', 'holds 1; media in Stasis'],
    ['creating', 'timer media_timeout', 'creating', '', 'failure media_stasis:timeout; holds 1'],
    ['creating', 'shutdown', 'creating', '', 'holds 1; stopping'],
    ['creating', 'ari answer ok', 'creating', '', 'holds 1'],
    ['creating', 'ari answer fails', 'creating', '', 'failure answer:ari_error; holds 1'],
    ['creating', 'ari bridge ok', 'creating', '', 'holds 1'],
    ['creating', 'ari bridge fails', 'creating', '', 'failure bridge:ari_error; holds 1'],
    ['creating', 'ari media ok', 'creating', '', 'holds 1'],
    ['creating', 'ari media fails', 'creating', '', 'failure media:ari_error; holds 1'],
    ['bridging', 'start same entry', 'bridging', '', 'holds 1,9; media in Stasis'],
    ['bridging', 'start later entry', 'bridging', '', 'caller gone; queued start; holds 1; media in Stasis'],
    ['bridging', 'caller StasisEnd', 'bridging', '', 'caller gone; holds 1,8; media in Stasis'],
    ['bridging', 'media StasisEnd', 'bridging', '', 'media gone; holds 1,7; media in Stasis'],
    ['bridging', 'media StasisStart', 'bridging', '', 'holds 1; media in Stasis'],
    ['bridging', 'timer media_timeout', 'bridging', '', 'holds 1; media in Stasis'],
    ['bridging', 'shutdown', 'bridging', '', 'holds 1; media in Stasis; stopping'],
    ['bridging', 'ari add ok', 'activating', 'store:activate', 'holds 1; media in Stasis'],
    ['bridging', 'ari add fails', 'claiming', 'store:claim', 'failure add_channels:ari_error; holds 1; media in Stasis'],
    ['activating', 'start same entry', 'activating', '', 'holds 1,9; media in Stasis'],
    ['activating', 'start later entry', 'activating', '', 'caller gone; queued start; holds 1; media in Stasis'],
    ['activating', 'caller StasisEnd', 'activating', '', 'caller gone; holds 1,8; media in Stasis'],
    ['activating', 'media StasisEnd', 'activating', '', 'media gone; holds 1,7; media in Stasis'],
    ['activating', 'media StasisStart', 'activating', '', 'holds 1; media in Stasis'],
    ['activating', 'timer media_timeout', 'activating', '', 'holds 1; media in Stasis'],
    ['activating', 'shutdown', 'activating', '', 'holds 1; media in Stasis; stopping'],
    ['activating', 'store activate ok', 'done', 'publish:started ack:1', ''],
    ['activating', 'store activate conflict', 'reading', 'store:read', 'holds 1; media in Stasis'],
    ['activating', 'store activate unavailable', 'activating', 'timer:activate_retry', 'holds 1; media in Stasis'],
    ['claiming', 'start same entry', 'claiming', '', 'failure media:ari_error; holds 1,9'],
    ['claiming', 'start later entry', 'claiming', '', 'caller gone; failure media:ari_error; queued start; holds 1'],
    ['claiming', 'caller StasisEnd', 'claiming', '', 'caller gone; failure media:ari_error; holds 1,8'],
    ['claiming', 'media StasisEnd', 'claiming', '', 'media gone; failure media:ari_error; holds 1,7'],
    ['claiming', 'media StasisStart', 'claiming', '', 'failure media:ari_error; holds 1; media in Stasis'],
    ['claiming', 'timer media_timeout', 'claiming', '', 'failure media:ari_error; holds 1'],
    ['claiming', 'shutdown', 'claiming', '', 'failure media:ari_error; holds 1; stopping'],
    ['claiming', 'store claim ok', 'clearing', 'publish:failed(setup_failed:media:ari_error) ari:rm_media ari:rm_bridge ari:caller', 'failure media:ari_error; holds 1'],
    ['claiming', 'store claim conflict', 'reading', 'store:read', 'failure media:ari_error; holds 1'],
    ['claiming', 'store claim unavailable', 'clearing', 'ari:rm_media ari:rm_bridge store:unpoint', 'failure media:ari_error; holds 1'],
    ['clearing', 'start same entry', 'clearing', '', 'failure media:ari_error; holds 1,9'],
    ['clearing', 'start later entry', 'clearing', '', 'caller gone; failure media:ari_error; queued start; holds 1'],
    ['clearing', 'caller StasisEnd', 'clearing', '', 'caller gone; failure media:ari_error; holds 1,8'],
    ['clearing', 'media StasisEnd', 'clearing', '', 'media gone; failure media:ari_error; holds 1,7'],
    ['clearing', 'media StasisStart', 'clearing', '', 'failure media:ari_error; holds 1; media in Stasis'],
    ['clearing', 'timer media_timeout', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'shutdown', 'clearing', '', 'failure media:ari_error; holds 1; stopping'],
    ['clearing', 'ari rm_media ok', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'ari rm_media fails', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'ari rm_bridge ok', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'ari rm_bridge fails', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'ari caller ok', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['clearing', 'ari caller fails', 'clearing', '', 'failure media:ari_error; holds 1'],
    ['reading', 'start same entry', 'reading', '', 'holds 1,9'],
    ['reading', 'start later entry', 'reading', '', 'caller gone; queued start; holds 1'],
    ['reading', 'caller StasisEnd', 'reading', '', 'caller gone; queued end; holds 1'],
    ['reading', 'media StasisEnd', 'reading', '', 'queued end; holds 1'],
    ['reading', 'media StasisStart', 'reading', '', 'holds 1'],
    ['reading', 'timer media_timeout', 'reading', '', 'holds 1'],
    ['reading', 'shutdown', 'reading', '', 'holds 1; stopping'],
    ['reading', 'read: same stay, active', 'done', 'ack:1', ''],
    ['reading', 'read: same stay, setup', 'recording', 'store:takeover ari:answer', 'holds 1'],
    ['reading', 'read: an earlier stay', 'claiming', 'store:claim', 'caller gone; queued start; holds '],
    ['reading', 'read: a later stay', 'done', 'ack:1', ''],
    ['reading', 'store read ok', 'recording', 'store:create ari:answer', 'holds 1'],
    ['reading', 'store read conflict', 'recording', 'store:create ari:answer', 'holds 1'],
    ['reading', 'store read unavailable', 'done', 'nak:1', ''],
    ['reading (end)', 'start same entry', 'reading', '', 'queued start; holds 1'],
    ['reading (end)', 'start later entry', 'reading', '', 'queued start; holds 1'],
    ['reading (end)', 'caller StasisEnd', 'reading', '', 'holds 1,8'],
    ['reading (end)', 'media StasisEnd', 'reading', '', 'queued end; holds 1'],
    ['reading (end)', 'media StasisStart', 'reading', '', 'holds 1'],
    ['reading (end)', 'timer media_timeout', 'reading', '', 'holds 1'],
    ['reading (end)', 'shutdown', 'reading', '', 'holds 1; stopping'],
    ['reading (end)', 'read: same stay, active', 'claiming', 'store:claim', 'caller gone; holds 1'],
    ['reading (end)', 'read: same stay, setup', 'claiming', 'store:claim', 'caller gone; holds 1'],
    ['reading (end)', 'read: an earlier stay', 'claiming', 'store:claim', 'caller gone; holds 1'],
    ['reading (end)', 'read: a later stay', 'done', 'ack:1', ''],
    ['reading (end)', 'store read ok', 'done', 'nak:1', ''],
    ['reading (end)', 'store read conflict', 'done', 'nak:1', ''],
    ['reading (end)', 'store read unavailable', 'done', 'nak:1', ''],
];

describe('call machine: every phase and message', () => {
  it('behaves as the table says', () => {
    const key = (r: Row) => `${r[0]} | ${r[1]}`;
    const want = new Map(EXPECTED.map((r) => [key(r), r]));
    const diff = actual.filter((r) => JSON.stringify(r) !== JSON.stringify(want.get(key(r))));
    assert.deepEqual(diff, [], `rows that differ from the table:\n${diff.map((r) => JSON.stringify(r)).join('\n')}`);
    assert.equal(actual.length, EXPECTED.length);
  });
});

/** Feeds messages one by one, keeping every effect, for the walks below. */
class Walk {
  state = initialState();
  readonly effects: Effect[] = [];
  /** Messages, or makers of messages (results carry the generation current when they are sent). */
  send(...messages: Array<Message | (() => Message)>): Effect[] {
    const out: Effect[] = [];
    for (const item of messages) {
      const m = typeof item === 'function' ? item() : item;
      const r = step(this.state, m, env);
      this.state = r.state;
      out.push(...r.effects);
    }
    this.effects.push(...out);
    return out;
  }
  get gen() {
    return this.state.gen;
  }
  ok(stepName: 'answer' | 'bridge' | 'media' | 'add' | 'rm_media' | 'rm_bridge' | 'caller', result?: unknown): () => Message {
    return () => ({ type: 'ari', gen: this.gen, step: stepName, ok: true, result });
  }
  fail(stepName: 'answer' | 'bridge' | 'media' | 'add', code: string): () => Message {
    return () => ({ type: 'ari', gen: this.gen, step: stepName, ok: false, code });
  }
  stored(op: 'create' | 'activate' | 'claim' | 'pointer' | 'read', outcome: 'ok' | 'conflict' | 'unavailable' = 'ok'): () => Message {
    return () => (outcome === 'ok' ? { type: 'stored', gen: this.gen, op, outcome, revision: 5 } : { type: 'stored', gen: this.gen, op, outcome });
  }
  /** Through recording and creating, up to the addChannel request. */
  setUpTo(add: boolean): void {
    this.send(start(1), this.stored('create'), this.ok('answer'), this.ok('bridge'), this.stored('pointer'));
    const media = this.state.call!.ids.externalChannelId;
    this.send(this.ok('media'));
    if (add) this.send({ type: 'media_start', channelId: media });
  }
}

const hangsUpCaller = (e: Effect) => e.type === 'ari' && e.step === 'caller';
const published = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'publish' ? [`${e.event.kind}:${e.event.cause ?? ''}`] : []));

describe('call machine: whole paths', () => {
  it('a failed setup claims the call before it touches the caller, and reports failed (defect 10)', () => {
    const w = new Walk();
    w.setUpTo(true);
    const afterAdd = w.send(w.fail('add', 'ari_error'));
    assert.deepEqual(summary(afterAdd), 'store:claim');
    const afterClaim = w.send(w.stored('claim'));
    assert.deepEqual(published(afterClaim), ['failed:setup_failed:add_channels:ari_error']);
    assert.ok(afterClaim.some(hangsUpCaller), 'the caller is hung up once the call is ours to end');
  });

  it('... and when another instance claimed it first, neither reports nor touches the caller', () => {
    const w = new Walk();
    w.setUpTo(true);
    w.send(w.fail('add', 'ari_error'), w.stored('claim', 'conflict'));
    const afterRead = w.send({ type: 'stored', gen: w.gen, op: 'read', outcome: 'ok' }); // gone: ended elsewhere
    assert.deepEqual(published(afterRead), []);
    assert.ok(!afterRead.some(hangsUpCaller));
    assert.deepEqual(summary(afterRead), 'ari:rm_media ari:rm_bridge store:unpoint', 'only what this actor created');
  });

  it('an unexpected failure of a setup step is labelled with that step (defect 7)', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.ok('answer'), w.stored('pointer'));
    w.send(w.fail('bridge', 'internal'), w.ok('media'));
    const fx = w.send(w.stored('claim'));
    assert.deepEqual(published(fx), ['failed:setup_failed:bridge:internal']);
  });

  it('a caller back in Stasis while its call is set up: that call ends, a new one starts (defect 3)', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.ok('answer'), w.stored('pointer'));
    const first = w.state.call!.ids;
    w.send(start(2, E2));
    assert.equal(w.state.gone.caller, true, 'the first stay is over');
    w.send(w.ok('bridge'), w.ok('media'), w.stored('claim'));
    assert.deepEqual(published(w.effects), ['ended:caller_reentered']);
    assert.ok(!w.effects.some(hangsUpCaller), 'the caller is in its next stay: left alone');
    const next = w.send(w.ok('rm_media'), w.ok('rm_bridge'));
    assert.equal(w.state.phase, 'recording');
    const create = next.find((e) => e.type === 'store' && e.op === 'create');
    assert.ok(create && create.type === 'store' && 'state' in create);
    assert.notEqual(create.state.sessionId, first.sessionId, 'a new session');
    assert.notEqual(create.state.bridgeId, first.bridgeId, 'a new bridge');
    assert.deepEqual(create.state.entry, E2);
  });

  it('a start redelivered while reconciliation adopts its caller takes the dead owner\'s setup over (model test seed 1887688936)', () => {
    // Instance A wrote the call state (setup) and died; reconciliation here adopted the caller
    // before that write was visible, then the stream redelivered A's start to this instance.
    const w = new Walk();
    const adopt: Message = { ...(start(1, { dialplan: E1.dialplan }, true) as Extract<Message, { type: 'start' }>), adopt: true };
    w.send(adopt, start(2, E1, true));
    const fx = w.send({ type: 'stored', gen: w.gen, op: 'read', outcome: 'ok', found: { revision: 7, state: {
      app: 'ai_app', node: 'pbx1', channelId: 'c1', sessionId: '11111111-1111-4111-8111-111111111111', externalChannelId: '11111111-1111-4111-8111-111111111111',
      bridgeId: 'b0', phase: 'setup', owner: 'i0', callerNumber: '1', callerName: 'A', startedAt: '', updatedAt: '', entry: E1 } } });
    assert.equal(summary(fx), 'store:takeover ari:answer', 'taken over, not left to a dead owner');
    assert.equal(notes(w.state), 'holds 1,2');
  });

  it('a StasisStart redelivered after its call ended (its ack lost in a NATS leader change) reports nothing and creates nothing (cluster test, rolling restart)', () => {
    // Seen 50 times in one rolling restart: the call was set up, ended and reported; its first
    // delivery's ack never reached the consumer's leader, and the redelivery found no state.
    for (const code of ['not_found', 'conflict']) {
      const w = new Walk();
      w.send(start(1, E1, true), w.stored('read')); // no state: ended
      assert.equal(w.state.phase, 'recording');
      w.send(w.fail('answer', code));
      const afterCreate = w.send(w.stored('create'));
      assert.deepEqual(summary(afterCreate), 'store:pointer', 'no bridge, no media channel for a caller not in Stasis');
      w.send(w.stored('pointer'));
      const afterClaim = w.send(w.stored('claim'));
      assert.deepEqual(published(w.effects), [], `no second terminal event (${code})`);
      assert.ok(!w.effects.some(hangsUpCaller));
      assert.deepEqual(summary(afterClaim), 'ack:1', 'the claim removed the state and its pointer');
    }
  });

  it('... and so does one whose caller leaves Stasis while it is being set up', () => {
    const w = new Walk();
    w.send(start(1, E1, true), w.stored('read'), w.stored('create'), w.ok('answer'), w.stored('pointer'));
    w.send({ type: 'end', delivery: d(2), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 15) });
    w.send(w.ok('bridge'), w.ok('media'), w.stored('claim'));
    assert.deepEqual(published(w.effects), []);
  });

  it('an answer lost with a NATS server (timeout) is sent again, a few times, before the call fails (cluster test, answer:timeout)', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.stored('pointer'));
    const retry = () => ({ type: 'timer', gen: w.gen, name: 'retry:answer' }) as Message;
    for (let i = 0; i < 3; i++) {
      assert.equal(summary(w.send(w.fail('answer', 'timeout'))), 'timer:retry:answer');
      assert.equal(summary(w.send(retry)), 'ari:answer', `sent again (${i + 1})`);
    }
    w.send(w.fail('answer', 'timeout'), w.ok('bridge'), w.ok('media'));
    assert.deepEqual(published(w.send(w.stored('claim'))), ['failed:setup_failed:answer:timeout']);
    const ok = new Walk();
    ok.send(start(1), ok.stored('create'), ok.stored('pointer'), ok.fail('answer', 'ari_unavailable'));
    ok.send(() => ({ type: 'timer', gen: ok.gen, name: 'retry:answer' }), ok.ok('answer'), ok.ok('bridge'), ok.ok('media'));
    ok.send({ type: 'media_start', channelId: ok.state.call!.ids.externalChannelId });
    assert.equal(ok.state.phase, 'bridging');
  });

  it('a bridge create that times out is sent again without a type (Asterisk updates an existing bridge only then)', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.ok('answer'), w.stored('pointer'), w.ok('media'));
    assert.equal(summary(w.send(w.fail('bridge', 'timeout'))), 'timer:retry:bridge');
    const again = w.send(() => ({ type: 'timer', gen: w.gen, name: 'retry:bridge' }));
    const sent = again.find((e) => e.type === 'ari' && e.step === 'bridge');
    assert.ok(sent && sent.type === 'ari');
    assert.deepEqual(sent.params, { bridgeId: w.state.call!.ids.bridgeId, name: `avb:ai_app:${w.state.call!.ids.sessionId}` });
    w.send(w.ok('bridge'), { type: 'media_start', channelId: w.state.call!.ids.externalChannelId });
    assert.equal(w.state.phase, 'bridging');
  });

  it('... while a first delivery whose caller is gone by the answer reports failed (every caller hung up early is told)', () => {
    const w = new Walk();
    w.send(start(1), w.fail('answer', 'not_found'), w.stored('create'), w.stored('pointer'));
    assert.deepEqual(published(w.send(w.stored('claim'))), ['failed:setup_failed:answer:not_found']);
  });

  it('... while a first delivery whose caller leaves during the setup reports its end', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.ok('answer'), w.stored('pointer'));
    w.send({ type: 'end', delivery: d(2), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 15) });
    w.send(w.ok('bridge'), w.ok('media'));
    assert.deepEqual(published(w.send(w.stored('claim'))), ['ended:caller_hangup_during_setup']);
  });

  it('a caller\'s end reads its call from this instance\'s own last write; a stale one loses the claim, and the call there now is ended', () => {
    const w = new Walk();
    const endOf = (seq: number): Message => ({ type: 'end', delivery: d(3), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 3, app_data: 'ai_app' }, seq) });
    const readFx = w.send(endOf(30));
    assert.deepEqual(readFx.filter((e) => e.type === 'store'), [{ type: 'store', op: 'read', node: 'pbx1', channelId: 'c1', recent: true }]);
    const stay = (sessionId: string, entry: typeof E1, revision: number) => ({ revision, state: {
      app: 'ai_app', node: 'pbx1', channelId: 'c1', sessionId, externalChannelId: sessionId,
      bridgeId: `b-${revision}`, phase: 'active' as const, owner: 'i0', callerNumber: '1', callerName: 'A', startedAt: '', updatedAt: '', entry } });
    // The copy is of the first stay, ended elsewhere since; the second stay's call is there now.
    w.send({ type: 'stored', gen: w.gen, op: 'read', outcome: 'ok', found: stay('11111111-1111-4111-8111-111111111111', E1, 4) });
    const reread = w.send(w.stored('claim', 'conflict'));
    assert.deepEqual(reread.filter((e) => e.type === 'store'), [{ type: 'store', op: 'read', node: 'pbx1', channelId: 'c1' }], 'read from the bucket this time');
    const claim = w.send({ type: 'stored', gen: w.gen, op: 'read', outcome: 'ok', found: stay('22222222-2222-4222-8222-222222222222', E2, 9) });
    const sent = claim.find((e) => e.type === 'store' && e.op === 'claim');
    assert.ok(sent && sent.type === 'store' && sent.op === 'claim');
    assert.deepEqual([sent.state.sessionId, sent.revision], ['22222222-2222-4222-8222-222222222222', 9]);
    w.send(w.stored('claim'));
    assert.deepEqual(published(w.effects), ['ended:caller_hangup']);
  });

  it('a rollback removes our session pointer only once its write has answered (model test: a purge overtaking the put left it)', () => {
    const w = new Walk();
    w.send(start(1), w.stored('create'), w.ok('answer'), w.ok('bridge'), w.ok('media'));
    w.send({ type: 'media_start', channelId: w.state.call!.ids.externalChannelId }, w.ok('add'), w.stored('activate', 'conflict'));
    const rolled = w.send({ type: 'stored', gen: w.gen, op: 'read', outcome: 'ok' }); // ended elsewhere meanwhile
    assert.equal(summary(rolled), 'ari:rm_media ari:rm_bridge', 'the pointer write is still on its way: not removed yet');
    assert.equal(summary(w.send(w.stored('pointer'))), 'store:unpoint');
  });

  it('a media channel whose StasisStart never comes is asked about, and bridged when it is in Stasis', () => {
    const w = new Walk();
    w.setUpTo(false);
    const check = w.send({ type: 'timer', gen: w.gen, name: 'media_check' });
    assert.deepEqual(summary(check), 'ari:media_check timer:media_check');
    const bridged = w.send({ type: 'ari', gen: w.gen, step: 'media_check', ok: true, result: { dialplan: { app_name: 'Stasis' } } });
    assert.deepEqual(summary(bridged), 'cancel:media_check cancel:media_timeout ari:add');
  });
});

describe('a StasisStart delivered late (STALE_START_MS)', () => {
  const late = (redelivered = false): Message => ({ ...(start(1, E1, redelivered) as Extract<Message, { type: 'start' }>), storedAgoMs: STALE_START_MS });
  const after = (msgs: Message[]) => {
    let s = initialState();
    let fx: Effect[] = [];
    for (const m of msgs) ({ state: s, effects: fx } = step(s, m, env));
    return { s, fx };
  };

  it('looks its caller up first, and ends with nothing stored, created or reported when the caller is gone', () => {
    const first = after([late()]);
    assert.equal(first.s.phase, 'checking');
    assert.deepEqual(first.fx.filter((e) => e.type === 'ari').map((e) => e.type === 'ari' && `${e.command} ${JSON.stringify(e.params)}`), ['channels.get {"channelId":"c1"}']);
    const gone = after([late(), { type: 'ari', gen: 1, step: 'caller_check', ok: false, code: 'not_found' }]);
    assert.equal(summary(gone.fx), 'ack:1');
    assert.equal(gone.s.phase, 'done');
  });

  it('sets the call up as any start when the caller is there, or when ARI cannot say', () => {
    for (const result of [{ ok: true, result: { id: 'c1' } }, { ok: false, code: 'timeout' }] as const) {
      const there = after([late(), { type: 'ari', gen: 1, step: 'caller_check', ...result } as Message]);
      assert.equal(there.s.phase, 'recording');
      assert.equal(summary(there.fx), 'store:create ari:answer');
    }
    // A redelivered one reads the call state, as before.
    const read = after([late(true), { type: 'ari', gen: 1, step: 'caller_check', ok: true, result: { id: 'c1' } }]);
    assert.equal(summary(read.fx), 'store:read');
  });

  it('a caller whose StasisEnd comes while being looked up is not set up', () => {
    const end: Message = { type: 'end', delivery: d(2), node: 'pbx1', channelId: 'c1', who: 'caller', entry: entryOf({ context: 'ai-in', exten: '100', priority: 2, app_data: 'ai_app' }, 15) };
    const r = after([late(), end, { type: 'ari', gen: 1, step: 'caller_check', ok: true, result: { id: 'c1' } }]);
    assert.ok(!r.fx.some((e) => e.type === 'store' && e.op === 'create'), summary(r.fx));
    assert.ok(!r.fx.some((e) => e.type === 'ari' && e.step === 'answer'), summary(r.fx));
  });

  it('an instance told to stop while looking up hands the start back', () => {
    const r = after([late(), { type: 'shutdown' }, { type: 'ari', gen: 1, step: 'caller_check', ok: true, result: { id: 'c1' } }]);
    assert.equal(summary(r.fx), 'nak:1');
  });

  it('fresh ones and adoptions are not looked up', () => {
    assert.equal(summary(after([start(1)]).fx), 'store:create ari:answer');
    const adopt: Message = { ...(start(1, E1, true) as Extract<Message, { type: 'start' }>), adopt: true, storedAgoMs: STALE_START_MS };
    assert.equal(summary(after([adopt]).fx), 'store:read');
  });
});
