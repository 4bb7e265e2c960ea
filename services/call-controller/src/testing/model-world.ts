/**
 * A small world for the model-based test of the call machine: an in-memory Asterisk (callers,
 * media channels, bridges, the events the recordings show), the KV store (revisions,
 * compare-and-set) and the event stream with its two shared consumers (deliveries, acks, naks,
 * redelivery), and controller instances running the real intake, actors and machine against
 * them. Nothing completes by itself: every reply, delivery and timer is a pending item that the
 * test picks, so any order of completion can be tried, and a run is reproduced from its choices.
 *
 * Media is AudioSocket (the media channel enters Stasis as it is created) or chan_websocket:
 * in server mode the channel stays Down until the media server connects with the connection id
 * of the externalMedia reply, which it learns from `media_ready`; in client mode Asterisk dials
 * the media server. Either connection is a pending item like a reply: it may never come, or come
 * after the channel is gone. An externalMedia whose channel id is in use crashes Asterisk 22.10.1
 * with chan_websocket: counted in `crashes`, which must stay 0.
 */
import { callStateKeys, type CallEvent, type CallState, type CommandName, type StasisEnd, type StasisStart } from '@avb/contracts';
import type { MediaSettings } from '../media-plan.js';
import { createLogger } from '@avb/runtime';
import type { Delivery } from '../call-actor.js';
import { CallActors } from '../call-actors.js';
import { createCallIntake, type CallIntake } from '../call-intake.js';
import { STALE_START_MS, type StoredCall } from '../call-machine.js';
import { CommandError } from '../command-error.js';
import { reconcileNode } from '../reconciler.js';
import { withRecentWrites } from '../recent-writes.js';

export const APP = 'ai_app';
export const NODE = 'pbx1';

export type MediaMode = 'audiosocket' | 'websocket-server' | 'websocket-client';

const MEDIA: Record<MediaMode, MediaSettings> = {
  audiosocket: { externalHost: '127.0.0.1:7575', format: 'slin16', encapsulation: 'audiosocket', transport: 'tcp', stasisTimeoutMs: 5000 },
  'websocket-server': { transport: 'websocket', encapsulation: 'none', connection: 'server', urls: { '*': 'ws://asterisk:8088/media' }, format: 'slin16', stasisTimeoutMs: 10_000, slowMs: 2000 },
  'websocket-client': { transport: 'websocket', encapsulation: 'none', connection: 'client', clientId: 'media_connection1', format: 'slin16', stasisTimeoutMs: 10_000, slowMs: 2000 },
};

/** Items of the world itself (the media server, Asterisk's own dialing): no instance's death cancels them. */
const WORLD = -1;

interface Chan {
  id: string;
  kind: 'caller' | 'media';
  inStasis: boolean;
  priority: number;
  /** Callers: how many more Stasis() follow in the dialplan (a `continue` re-enters). */
  laterStays: number;
  data?: string;
  /** chan_websocket: the connection id of the externalMedia reply; until connected the channel is Down. */
  connectionId?: string;
}

interface StreamMsg {
  seq: number;
  type: 'StasisStart' | 'StasisEnd';
  event: StasisStart | StasisEnd;
  acked: boolean;
  deliveries: number;
  /** Held by an instance right now (delivered, not settled). */
  heldBy: number | undefined;
}

export interface Pending {
  id: number;
  instance: number;
  what: string;
  /** `ok`: as the world answers; `fail`: an error reply, nothing done; `late`: done, but the reply is a timeout. */
  complete(mode: 'ok' | 'fail' | 'late'): void;
  /** A dead instance's request may have reached the server before it died. */
  orphan(): void;
}

interface Timer {
  id: number;
  instance: number;
  fn: () => void;
}

class ConflictError extends Error {}

interface Instance {
  id: number;
  alive: boolean;
  /** SIGTERM received: it takes no new callers (its consumers stop pulling soon after). */
  stopping: boolean;
  actors: CallActors;
  intake: CallIntake;
  reconcile(): void;
}

export interface DeliveryRecord {
  instance: number;
  seq: number;
  settles: number;
}

// AVB_MODEL_TRACE=1: the machines' own log lines beside the world's trace, on stderr.
const log = process.env.AVB_MODEL_TRACE ? createLogger('model', 'debug', { write: (line: string) => void process.stderr.write(line) }) : createLogger('model', 'silent');

/** Callers set up at once per instance: small, so that callers wait for admission in most runs. */
const MODEL_MAX_SETUPS = 2;

export class World {
  readonly channels = new Map<string, Chan>();
  readonly bridges = new Map<string, { name: string; channels: Set<string> }>();
  readonly kv = new Map<string, { value: string; revision: number }>();
  readonly stream: StreamMsg[] = [];
  readonly events: CallEvent[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly instances: Instance[] = [];
  pending: Pending[] = [];
  timers: Timer[] = [];
  /** Callers placed, by id: how many stays in Stasis each had (for the liveness check). */
  readonly callers = new Set<string>();
  /** Sessions whose end was claimed by an instance that died before it heard back: unreported. */
  readonly claimedByTheDead = new Set<string>();
  /**
   * Sessions whose pointer may linger until the bucket's TTL: its write or removal failed or was
   * cut off, or the instance that wrote it died (its successor never knew it).
   */
  readonly lingeringPointers = new Set<string>();
  private readonly pointedBy = new Map<string, number>();
  private nextId = 1;
  /** Every fifth ack is lost on its way (a NATS leader change): the message comes back. */
  loseAcks = false;
  private acks = 0;
  private revision = 0;
  private uuidCount = 0;
  private clock = 1_000_000;
  /** externalMedia requests that would have crashed a real Asterisk (channel id in use, chan_websocket). */
  crashes = 0;
  /** The connection id each websocket media channel got, kept after it is gone. */
  readonly connectionOf = new Map<string, string>();

  constructor(
    private readonly mediaFailureAction: 'hangup' | 'continue' = 'hangup',
    readonly media: MediaMode = 'audiosocket',
    /** For tests of the actor runtime: a publish that throws, fresh ids that fail. */
    private readonly faults: { publish?: () => void; uuid?: () => void } = {},
  ) {}

  private get websocket() {
    return this.media !== 'audiosocket';
  }

  // ---- instances ----------------------------------------------------------------------------

  startInstance(): Instance {
    const id = this.instances.length;
    const world = this;
    const ari = { send: (_node: string, command: CommandName, params: unknown) => world.request(id, `${command} ${JSON.stringify(params).slice(0, 90)}`, () => world.ari(command, params as Record<string, unknown>)) as never };
    const store = this.storePort(id);
    const actors = new CallActors({
      env: {
        settings: {
          app: APP, instance: `i${id}`, mediaFailureAction: this.mediaFailureAction, mediaCheckMs: 1000,
          media: MEDIA[this.media],
        },
        now: () => (this.clock += 1),
        mono: () => this.clock,
        uuid: () => {
          this.faults.uuid?.();
          return `00000000-0000-4000-8000-${String(++this.uuidCount).padStart(12, '0')}`;
        },
      },
      ari,
      // As in main.ts: the actors read through this instance's recent writes.
      store: withRecentWrites(store, (err) => err instanceof ConflictError),
      isConflict: (err) => err instanceof ConflictError,
      codeOf: (err) => (err instanceof CommandError ? err.code : 'internal'),
      publish: (event) => {
        this.faults.publish?.();
        this.published(event);
      },
      clock: {
        setTimeout: (fn, _ms) => {
          const t = { id: this.nextId++, instance: id, fn };
          this.timers.push(t);
          return t.id;
        },
        clearTimeout: (handle) => void (this.timers = this.timers.filter((t) => t.id !== handle)),
      },
      log,
    }, 60_000, MODEL_MAX_SETUPS);
    const intake = createCallIntake(APP, actors);
    const instance: Instance = {
      id, alive: true, stopping: false, actors, intake,
      // Reconciliation with no grace period: everything it finds is old enough to repair.
      reconcile: () => void (trace(`i${id} reconciles`), reconcileNode(NODE, { app: APP, ari, store, actors, intake, graceMs: 0, refreshAfterMs: 1e12 }).catch(() => undefined)),
    };
    this.instances.push(instance);
    return instance;
  }

  alive(): Instance[] {
    return this.instances.filter((i) => i.alive);
  }

  /** Live instances that still pull events. */
  serving(): Instance[] {
    return this.instances.filter((i) => i.alive && !i.stopping);
  }

  /** SIGKILL: nothing it had in flight answers; what it held is delivered again. */
  crash(instance: Instance): void {
    trace(`i${instance.id} crashes`);
    instance.alive = false;
    for (const [session, by] of this.pointedBy) if (by === instance.id) this.lingeringPointers.add(session);
    instance.actors.stop();
    for (const p of this.pending.filter((q) => q.instance === instance.id)) p.orphan();
    this.pending = this.pending.filter((q) => q.instance !== instance.id);
    this.timers = this.timers.filter((t) => t.instance !== instance.id);
    for (const m of this.stream) if (m.heldBy === instance.id) m.heldBy = undefined;
  }

  /** SIGTERM: new callers go back; it leaves once its actors are done. */
  shutdown(instance: Instance): void {
    trace(`i${instance.id} shuts down`);
    instance.stopping = true;
    instance.intake.stopNewCalls();
    void instance.actors.shutdown().then(() => {
      if (instance.alive) this.crash(instance);
    });
  }

  /** A call event; `media_ready` sends the media server off to connect (when it gets to it). */
  private published(event: CallEvent): void {
    this.events.push(event);
    const connectionId = event.media?.connectionId;
    if (event.kind !== 'media_ready' || connectionId === undefined) return;
    this.connectLater(`media server connects ${connectionId}`, connectionId);
  }

  /**
   * The media socket's connection, as a pending item. `fail`: the media server never connects
   * (server mode), or cannot be reached (client mode: Asterisk drops the channel after its tries).
   */
  private connectLater(what: string, connectionId: string, unreachable?: string): void {
    this.pending.push({
      id: this.nextId++, instance: WORLD, what,
      complete: (mode) => {
        if (mode !== 'fail') this.connect(connectionId);
        else if (unreachable !== undefined) this.dropUnconnected(unreachable);
      },
      orphan: () => undefined,
    });
  }

  /** The socket is up: the channel answers and enters Stasis (unless it went meanwhile: 404). */
  private connect(connectionId: string): void {
    const ch = [...this.channels.values()].find((c) => c.connectionId === connectionId && !c.inStasis);
    if (!ch) return;
    ch.inStasis = true;
    this.emit('StasisStart', ch);
  }

  /**
   * Asterisk gives up on a websocket channel that never connected (server mode ~31 s, cause 19;
   * client mode after its tries, cause 3): only ChannelDestroyed, which the app does not consume.
   */
  dropUnconnected(id?: string): void {
    for (const ch of [...this.channels.values()]) {
      if (ch.kind === 'media' && ch.connectionId !== undefined && !ch.inStasis && (id === undefined || ch.id === id)) this.channels.delete(ch.id);
    }
  }

  /** Media channels not connected yet (Down). */
  unconnected(): Chan[] {
    return [...this.channels.values()].filter((ch) => ch.kind === 'media' && !ch.inStasis);
  }

  // ---- Asterisk -----------------------------------------------------------------------------

  placeCall(laterStays: number): string {
    const id = `17950000${this.nextId++}.1`;
    this.channels.set(id, { id, kind: 'caller', inStasis: true, priority: 2, laterStays });
    this.callers.add(id);
    trace(`caller ${id} arrives (${laterStays} later stays)`);
    this.emit('StasisStart', this.channels.get(id)!);
    return id;
  }

  /** The far end hangs up (a caller's BYE, the media server closing). */
  hangup(id: string): void {
    const ch = this.channels.get(id);
    if (!ch) return;
    trace(`${id} hangs up`);
    this.removeChannel(ch);
  }

  /** Someone sends the caller on in the dialplan (it may enter Stasis again). */
  continueCaller(id: string): void {
    const ch = this.channels.get(id);
    if (!ch || !ch.inStasis || ch.kind !== 'caller') return;
    trace(`${id} continues in the dialplan`);
    this.leaveBridge(ch);
    this.emit('StasisEnd', ch);
    if (ch.laterStays > 0) {
      ch.laterStays -= 1;
      ch.priority += 1;
      this.emit('StasisStart', ch);
    } else {
      ch.inStasis = false;
      this.channels.delete(ch.id);
    }
  }

  private removeChannel(ch: Chan): void {
    this.leaveBridge(ch);
    this.channels.delete(ch.id);
    if (ch.inStasis) this.emit('StasisEnd', ch);
  }

  private leaveBridge(ch: Chan): void {
    for (const b of this.bridges.values()) b.channels.delete(ch.id);
  }

  private channelJson(ch: Chan) {
    // A websocket channel not connected yet is still dialing: AppDial2, Down (server-mode/call-bridged.json).
    const appData = ch.kind === 'media' ? (ch.inStasis ? `${APP},${ch.id}` : '(Outgoing Line)') : APP;
    const name = ch.kind !== 'media' ? `PJSIP/${ch.id}` : ch.connectionId === undefined ? `AudioSocket/x-${ch.id}` : `WebSocket/INCOMING/0x${ch.id.slice(-6)}`;
    return {
      id: ch.id, name, state: ch.kind === 'media' && !ch.inStasis ? 'Down' : 'Up',
      caller: { name: '', number: ch.kind === 'caller' ? '100' : '' }, connected: { name: '', number: '' }, accountcode: '',
      dialplan: ch.kind === 'media'
        ? { context: 'default', exten: 's', priority: 1, app_name: ch.inStasis ? 'Stasis' : 'AppDial2', app_data: appData }
        : { context: 'ai-in', exten: '100', priority: ch.priority, app_name: 'Stasis', app_data: appData },
      creationtime: '2026-12-01T00:00:00.000+0000', language: 'en',
    };
  }

  private emit(type: 'StasisStart' | 'StasisEnd', ch: Chan): void {
    const channel = this.channelJson(ch);
    const event = type === 'StasisStart'
      ? { type, application: APP, timestamp: '', args: ch.kind === 'media' ? [ch.data ?? ch.id] : [], channel }
      : { type, application: APP, timestamp: '', channel };
    this.stream.push({ seq: this.stream.length + 1, type, event: event as StasisStart | StasisEnd, acked: false, deliveries: 0, heldBy: undefined });
    // The plain subscription every instance has (the media fast path).
    if (type === 'StasisStart') {
      for (const inst of this.alive()) {
        this.pend(inst.id, `core ${type} ${ch.id}`, () => inst.alive && inst.intake.onCoreStasisStart(NODE, event as StasisStart));
      }
    }
  }

  /** ARI as the gateway would answer, applied when the reply is chosen. */
  private ari(command: CommandName, p: Record<string, unknown>): unknown {
    const channel = (id: unknown) => this.channels.get(String(id));
    const notFound = (what: string) => new CommandError('not_found', `${what} not found`, 404);
    switch (command) {
      case 'channels.answer': {
        const ch = channel(p.channelId);
        if (!ch?.inStasis) throw notFound('Channel');
        return null;
      }
      case 'channels.get': {
        const ch = channel(p.channelId);
        if (!ch) throw notFound('Channel');
        return this.channelJson(ch);
      }
      case 'bridges.create': {
        const id = String(p.bridgeId);
        if (this.bridges.has(id)) throw new CommandError('conflict', 'Bridge already exists', 409);
        this.bridges.set(id, { name: String(p.name ?? ''), channels: new Set() });
        return { id, name: p.name, channels: [] };
      }
      case 'channels.externalMedia': {
        const id = String(p.channelId);
        if (this.channels.has(id)) {
          if (this.websocket) this.crashes += 1; // 22.10.1 segfaults (crash-duplicate-channelId.json)
          throw new CommandError('ari_error', 'channel id in use', 500);
        }
        if (!this.websocket) {
          const ch: Chan = { id, kind: 'media', inStasis: true, priority: 1, laterStays: 0, data: String(p.data) };
          this.channels.set(id, ch);
          this.emit('StasisStart', ch);
          return this.channelJson(ch);
        }
        const server = this.media === 'websocket-server';
        const connectionId = server ? `c0ffee00-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}` : 'media_connection1';
        const ch: Chan = { id, kind: 'media', inStasis: false, priority: 1, laterStays: 0, data: String(p.data), connectionId: server ? connectionId : `dial-${id}` };
        this.channels.set(id, ch);
        this.connectionOf.set(id, connectionId);
        // Client mode: Asterisk dials the media server itself, right after the reply.
        if (!server) this.connectLater(`asterisk dials the media server for ${id}`, ch.connectionId!, id);
        return { ...this.channelJson(ch), channelvars: { MEDIA_WEBSOCKET_CONNECTION_ID: connectionId, MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' } };
      }
      case 'bridges.addChannel': {
        const bridge = this.bridges.get(String(p.bridgeId));
        if (!bridge) throw notFound('Bridge');
        const ids = (Array.isArray(p.channel) ? p.channel : [p.channel]).map(String);
        if (ids.some((id) => !this.channels.has(id))) throw new CommandError('bad_request', 'Channel not found', 400);
        if (ids.some((id) => !this.channels.get(id)!.inStasis)) throw new CommandError('conflict', 'Channel not in Stasis application', 422);
        for (const id of ids) {
          this.leaveBridge(this.channels.get(id)!);
          bridge.channels.add(id);
        }
        return null;
      }
      case 'channels.hangup': {
        const ch = channel(p.channelId);
        if (!ch) throw notFound('Channel');
        this.removeChannel(ch);
        return null;
      }
      case 'channels.continue': {
        const ch = channel(p.channelId);
        if (!ch) throw notFound('Channel');
        this.continueCaller(ch.id);
        return null;
      }
      case 'bridges.destroy': {
        if (!this.bridges.delete(String(p.bridgeId))) throw notFound('Bridge');
        return null;
      }
      case 'channels.list':
        return [...this.channels.values()].map((ch) => this.channelJson(ch));
      case 'bridges.list':
        return [...this.bridges.entries()].map(([id, b]) => ({
          id, technology: 'simple_bridge', bridge_type: 'mixing', bridge_class: 'stasis', creator: 'Stasis', name: b.name,
          channels: [...b.channels], creationtime: '2026-12-01T00:00:00.000+0000',
        }));
      default:
        throw new CommandError('bad_request', `not modelled: ${command}`);
    }
  }

  // ---- KV -----------------------------------------------------------------------------------

  private storePort(instance: number) {
    const key = (s: { node: string; channelId: string }) => callStateKeys.call(s.node, s.channelId);
    const read = (k: string): StoredCall | undefined => {
      const e = this.kv.get(k);
      return e ? { state: JSON.parse(e.value) as CallState, revision: e.revision } : undefined;
    };
    const write = (k: string, state: CallState) => {
      const revision = ++this.revision;
      this.kv.set(k, { value: JSON.stringify(state), revision });
      return revision;
    };
    const cas = (k: string, revision: number) => {
      if (this.kv.get(k)?.revision !== revision) throw new ConflictError('wrong last sequence');
    };
    const op = <T>(what: string, run: () => T, pointerOf?: string) => this.request(instance, `kv ${what}`, run, true, pointerOf);
    return {
      create: (state: CallState) => op(`create ${key(state)} ${state.sessionId.slice(-3)}`, () => {
        if (this.kv.has(key(state))) throw new ConflictError('key exists');
        return write(key(state), state);
      }),
      update: (state: CallState, revision: number) => op(`update ${key(state)} ${state.sessionId.slice(-3)} ${state.phase}`, () => {
        cas(key(state), revision);
        return write(key(state), state);
      }),
      remove: (state: CallState, revision: number) => op(`remove ${key(state)} ${state.sessionId.slice(-3)}`, () => {
        cas(key(state), revision);
        this.kv.delete(key(state));
        this.kv.delete(callStateKeys.session(state.sessionId));
        if (!this.instances[instance]!.alive) this.claimedByTheDead.add(state.sessionId);
      }),
      get: (node: string, channelId: string) => op(`get ${channelId}`, () => read(key({ node, channelId }))),
      getBySession: (sessionId: string) => op('getBySession', () => {
        const pointer = this.kv.get(callStateKeys.session(sessionId));
        const found = pointer ? read(pointer.value) : undefined;
        return found?.state.sessionId === sessionId ? found : undefined;
      }),
      pointSession: (state: CallState) => op('pointSession', () => {
        this.pointedBy.set(state.sessionId, instance);
        this.kv.set(callStateKeys.session(state.sessionId), { value: key(state), revision: ++this.revision });
      }, state.sessionId),
      dropSession: (sessionId: string) => op('dropSession', () => void this.kv.delete(callStateKeys.session(sessionId)), sessionId),
      list: (node: string) => op('list', () => [...this.kv.keys()].filter((k) => k.startsWith(callStateKeys.call(node, ''))).map((k) => read(k)!)),
      refresh: async () => true,
    };
  }

  // ---- pending work -------------------------------------------------------------------------

  private pend(instance: number, what: string, run: () => void): void {
    this.pending.push({ id: this.nextId++, instance, what, complete: run, orphan: () => undefined });
  }

  /** A request whose reply the test chooses; KV writes are never `late` (see the test). */
  private request<T>(instance: number, what: string, run: () => T, kv = false, pointerOf?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const apply = () => {
        try {
          resolve(run());
        } catch (err) {
          reject(err);
        }
      };
      this.pending.push({
        id: this.nextId++,
        instance,
        what,
        complete: (mode) => {
          trace(`i${instance} ${what} ${mode}`);
          if (mode === 'ok' || (mode === 'late' && kv)) return apply();
          if (mode === 'late') {
            try {
              run();
            } catch {
              /* it failed in the world too; the client only sees the timeout */
            }
            return reject(new CommandError('timeout', 'no reply in time'));
          }
          if (pointerOf) this.lingeringPointers.add(pointerOf);
          reject(kv ? new Error('JetStream unavailable') : new CommandError(['ari_error', 'timeout', 'ari_unavailable'][this.nextId % 3] as 'timeout', 'failed'));
        },
        // Half of what a dead instance sent reached the server (reproducibly, by id).
        orphan: () => {
          if (pointerOf) this.lingeringPointers.add(pointerOf);
          if (this.nextId % 2 === 0) {
            try {
              run();
            } catch {
              /* nobody hears of it */
            }
          }
        },
      });
    });
  }

  /** Messages of the stream an instance could be handed now. */
  deliverable(): StreamMsg[] {
    return this.stream.filter((m) => !m.acked && m.heldBy === undefined);
  }

  deliver(m: StreamMsg, instance: Instance): void {
    trace(`deliver #${m.seq} ${m.type} ${m.event.channel.id} to i${instance.id}`);
    m.heldBy = instance.id;
    m.deliveries += 1;
    const record: DeliveryRecord = { instance: instance.id, seq: m.seq, settles: 0 };
    this.deliveries.push(record);
    const settle = (acked: boolean) => {
      trace(`i${instance.id} ${acked ? 'acks' : 'naks'} #${m.seq}`);
      record.settles += 1;
      if (!instance.alive || m.heldBy !== instance.id) return;
      m.heldBy = undefined;
      if (acked && this.loseAcks && ++this.acks % 5 === 0) return trace(`the ack of #${m.seq} is lost`);
      if (acked) m.acked = true;
    };
    const delivery: Delivery = {
      redelivered: m.deliveries > 1,
      ack: () => settle(true),
      nak: () => settle(false),
      working: () => undefined,
    };
    // Every third message counts as delivered late (STALE_START_MS): its caller is looked up first.
    const storedAgoMs = m.seq % 3 === 0 ? STALE_START_MS : 0;
    if (m.type === 'StasisStart') instance.intake.onStasisStart(NODE, m.event as StasisStart, delivery, m.seq, this.clock, storedAgoMs);
    else instance.intake.onStasisEnd(NODE, m.event as StasisEnd, delivery, m.seq);
  }

  fire(t: Timer): void {
    trace(`i${t.instance} timer ${t.id}`);
    this.timers = this.timers.filter((x) => x !== t);
    if (this.instances[t.instance]?.alive) t.fn();
  }
}

/** AVB_MODEL_TRACE=1: every step of a replayed case on stderr. */
function trace(line: string): void {
  if (process.env.AVB_MODEL_TRACE) process.stderr.write(`${line}\n`);
}
