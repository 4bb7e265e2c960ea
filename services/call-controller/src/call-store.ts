/**
 * The shared call state in a JetStream KV bucket (see CallState in libs/contracts): one key per
 * caller channel, changed only with compare-and-set on the revision (a lost one rejects with the
 * KV conflict error, see isKvConflict), deleted when the call is gone. Entries expire after
 * CALL_STATE_TTL_S unless refreshed (reconciliation refreshes the calls whose caller still
 * exists), so the bucket cannot grow without bound.
 *
 * A KV delete leaves a marker message per key until the bucket's TTL drops it: at hundreds of
 * calls per second that is millions of markers, and every listing of the bucket would read them.
 * So a deleted key's subject is purged from the bucket's stream right after the delete (the
 * delete itself is the compare-and-set; the purge only drops the marker).
 */
import { CallState, callStateKeys, decodeJson, jetStreamNames } from '@avb/contracts';
import { isKvConflict, type SelfHealing } from '@avb/runtime';
import { DeliverPolicy, headers, type JetStreamClient, type JetStreamManager, type JsMsg, type KV, type KvEntry } from 'nats';
import type { StorePort } from './call-actor.js';
import type { StoredCall } from './call-machine.js';

export type { StoredCall };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (state: CallState) => encoder.encode(JSON.stringify(state));

/** How long a count of the active calls is reused (the status endpoint asks for it). */
const COUNT_CACHE_MS = 1000;
/** Messages pulled at a time by list(), and how long it waits for one before it has them all. */
const LIST_BATCH = 1000;
const LIST_IDLE_MS = 300;
/** KV operation header: deletes and purges are markers, not entries. */
const KV_OPERATION = 'KV-Operation';

/** A listing read nothing for this long with messages still pending: the bucket stalled (a leader change). */
export class ListingStalled extends Error {
  constructor(readonly pending: number) {
    super(`the call-state listing stalled with ${pending} messages pending`);
    this.name = 'ListingStalled';
  }
}

export class CallStore implements StorePort {
  private counted: { at: number; count: Promise<number> } | undefined;

  /** `healing` hears of every failed operation, so a bucket found gone is made again. */
  constructor(
    private readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    private readonly healing?: SelfHealing,
  ) {}

  static async open(js: JetStreamClient, jsm: JetStreamManager, bucket: string, ttlS: number): Promise<CallStore> {
    return new CallStore(await js.views.kv(bucket, { history: 1, ttl: ttlS * 1000 }), js, jsm, bucket);
  }

  /** Passes a failure on, after telling `healing` (a "not found" or "no responders" makes it check the bucket). */
  private watched<T>(op: Promise<T>): Promise<T> {
    return op.catch((err: unknown) => {
      throw this.healing?.noticeError(err) ?? err;
    });
  }

  private get stream() {
    return jetStreamNames.kvStream(this.bucket);
  }

  /** Drops every message of a key (a delete marker, or the entry itself). */
  private async purge(key: string): Promise<void> {
    await this.watched(this.jsm.streams.purge(this.stream, { filter: jetStreamNames.kvSubject(this.bucket, key) }));
  }

  /** Calls in the bucket now (all nodes), counted at most once a second (COUNT_CACHE_MS). */
  activeCalls(): Promise<number> {
    if (!this.counted || Date.now() - this.counted.at > COUNT_CACHE_MS) {
      const count = this.watched(this.jsm.streams.info(this.stream, { subjects_filter: jetStreamNames.kvSubject(this.bucket, callStateKeys.calls()) })
        .then((info) => Object.keys(info.state.subjects ?? {}).length));
      this.counted = { at: Date.now(), count };
      count.catch(() => (this.counted = undefined));
    }
    return this.counted.count;
  }

  /** Creates the call; rejects (conflict) when its key exists. No session pointer: see pointSession. */
  create(state: CallState): Promise<number> {
    return this.watched(this.kv.create(callStateKeys.call(state.node, state.channelId), encode(state)));
  }

  /** Compare-and-set: rejects (conflict) when the entry changed, or went, since `revision`. */
  update(state: CallState, revision: number): Promise<number> {
    return this.watched(this.kv.update(callStateKeys.call(state.node, state.channelId), encode(state), revision));
  }

  /**
   * Deletes the call if it is still at `revision` (else rejects: conflict), with its pointer.
   * The key's messages are purged only up to the delete marker: a caller that enters Stasis
   * again has a new entry under the same key within milliseconds, and it must survive.
   */
  async remove(state: CallState, revision: number): Promise<void> {
    const subject = jetStreamNames.kvSubject(this.bucket, callStateKeys.call(state.node, state.channelId));
    const h = headers();
    h.set(KV_OPERATION, 'DEL');
    const marker = await this.watched(this.js.publish(subject, undefined, { headers: h, expect: { lastSubjectSequence: revision } }));
    await Promise.all([
      this.jsm.streams.purge(this.stream, { filter: subject, seq: marker.seq + 1 }),
      this.purge(callStateKeys.session(state.sessionId)),
    ]);
  }

  /** Points `session.<uuid>` at the call's key: written once the call key is ours. */
  async pointSession(state: CallState): Promise<void> {
    await this.watched(this.kv.put(callStateKeys.session(state.sessionId), encoder.encode(callStateKeys.call(state.node, state.channelId))));
  }

  async dropSession(sessionId: string): Promise<void> {
    await this.purge(callStateKeys.session(sessionId));
  }

  async get(node: string, channelId: string): Promise<StoredCall | undefined> {
    return decodeEntry(await this.watched(this.kv.get(callStateKeys.call(node, channelId))));
  }

  async getBySession(sessionId: string): Promise<StoredCall | undefined> {
    const pointer = await this.watched(this.kv.get(callStateKeys.session(sessionId)));
    if (!pointer || pointer.operation !== 'PUT') return undefined;
    const stored = decodeEntry(await this.watched(this.kv.get(decoder.decode(pointer.value))));
    return stored?.state.sessionId === sessionId ? stored : undefined;
  }

  /** Rewrites a live call (and its session pointer) so neither expires; false when it changed meanwhile. */
  async refresh({ state, revision }: StoredCall): Promise<boolean> {
    if (!(await unlessConflict(() => this.update({ ...state, updatedAt: new Date().toISOString() }, revision)))) return false;
    await this.pointSession(state);
    return true;
  }

  /** Every call of a node (or of all nodes), as of now. */
  async list(node?: string): Promise<StoredCall[]> {
    const calls: StoredCall[] = [];
    for (const m of await this.readLast(callStateKeys.calls(node), false)) {
      const stored = decodeMessage(m);
      if (stored) calls.push(stored);
    }
    return calls;
  }

  /** The nodes that have calls in the bucket (keys only: no entry's value is read). */
  async nodes(): Promise<Set<string>> {
    const nodes = new Set<string>();
    const prefix = jetStreamNames.kvSubject(this.bucket, '');
    for (const m of await this.readLast(callStateKeys.calls(), true)) {
      if (!isMarker(m)) nodes.add(m.subject.slice(prefix.length).split('.')[1]!);
    }
    return nodes;
  }

  /**
   * The newest message of each key matching `filter`, read in one pass by an ordered consumer:
   * as many as it had pending when it was made, or until the stream says nothing more is
   * pending, or until it has been idle for a moment (a key purged meanwhile is never
   * delivered). nats.js's KV watch and keys() wait for a "nothing pending" that a purge can
   * swallow, and the watch can signal "initialized" before it returns: a reader waiting for it
   * then read nothing although the bucket was full, and live calls looked orphaned.
   *
   * Idle with messages still pending is not the end: the bucket stalled (its leader changed, a
   * NATS server went away). A partial list would make live calls look orphaned (their bridges
   * destroyed, their callers adopted twice), so the listing rejects instead (ListingStalled).
   */
  private readLast(filter: string, headersOnly: boolean): Promise<JsMsg[]> {
    return this.watched(this.readLastOnce(filter, headersOnly));
  }

  private async readLastOnce(filter: string, headersOnly: boolean): Promise<JsMsg[]> {
    const consumer = await this.js.consumers.get(this.stream, {
      filterSubjects: jetStreamNames.kvSubject(this.bucket, filter),
      deliver_policy: DeliverPolicy.LastPerSubject,
      headers_only: headersOnly,
    });
    let remaining = (await consumer.info()).num_pending;
    const last = new Map<string, JsMsg>();
    if (remaining === 0) return [];
    const messages = await consumer.consume({ max_messages: Math.min(remaining, LIST_BATCH) });
    let idle: NodeJS.Timeout | undefined;
    let idled = false;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        idled = true;
        messages.stop();
      }, LIST_IDLE_MS);
    };
    arm();
    let complete = false;
    try {
      for await (const m of messages) {
        arm();
        last.set(m.subject, m);
        remaining -= 1;
        if (remaining <= 0 || m.info.pending === 0) {
          complete = true;
          break;
        }
      }
    } finally {
      clearTimeout(idle);
      messages.stop();
    }
    if (!complete && idled) await this.confirmNothingPending(filter, last.size);
    return [...last.values()];
  }

  /**
   * After an idle listing: the keys it missed were purged meanwhile (fine), or the bucket stalled.
   * The stream's subjects under the filter, counted now, tell: more than we read means stalled.
   */
  private async confirmNothingPending(filter: string, read: number): Promise<void> {
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: jetStreamNames.kvSubject(this.bucket, filter) });
    const subjects = Object.keys(info.state.subjects ?? {}).length;
    if (subjects > read) throw new ListingStalled(subjects - read);
  }

  /** When this node was last reconciled, with the entry's revision (0 when never). */
  async lastReconciled(node: string): Promise<{ at: number; revision: number }> {
    const entry = await this.watched(this.kv.get(callStateKeys.reconcile(node)));
    if (!entry || entry.operation !== 'PUT') return { at: 0, revision: entry?.revision ?? 0 };
    return { at: Date.parse(decoder.decode(entry.value)) || 0, revision: entry.revision };
  }

  /** Claims this node's reconciliation run; false when another instance claimed it first. */
  async claimReconcile(node: string, revision: number): Promise<boolean> {
    const key = callStateKeys.reconcile(node);
    const value = encoder.encode(new Date().toISOString());
    return unlessConflict(() => this.watched(revision === 0 ? this.kv.create(key, value) : this.kv.update(key, value, revision)));
  }
}

/** Runs a compare-and-set; false when it lost (the entry changed, or exists), other errors thrown. */
async function unlessConflict(cas: () => Promise<unknown>): Promise<boolean> {
  try {
    await cas();
    return true;
  } catch (err) {
    if (isKvConflict(err)) return false;
    throw err;
  }
}

function decodeState(value: Uint8Array, revision: number): StoredCall | undefined {
  const state = decodeJson(CallState, value);
  return state && { state, revision };
}

function decodeEntry(entry: KvEntry | null): StoredCall | undefined {
  if (!entry || entry.operation !== 'PUT') return undefined;
  return decodeState(entry.value, entry.revision);
}

function isMarker(m: JsMsg): boolean {
  const op = m.headers?.get(KV_OPERATION);
  return op === 'DEL' || op === 'PURGE';
}

function decodeMessage(m: JsMsg): StoredCall | undefined {
  return isMarker(m) ? undefined : decodeState(m.data, m.seq);
}
