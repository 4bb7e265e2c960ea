/**
 * The shared call state in a JetStream KV bucket (see CallState in libs/contracts): created
 * before any ARI resource exists, changed only with compare-and-set on the revision, deleted
 * when the call is gone. Entries expire after CALL_STATE_TTL_S unless refreshed (reconciliation
 * refreshes the calls whose caller still exists), so the bucket cannot grow without bound.
 *
 * A KV delete leaves a marker message per key until the bucket's TTL drops it: at hundreds of
 * calls per second that is millions of markers, and every watch of the bucket would read them.
 * So a deleted key's subject is purged from the bucket's stream right after the delete (the
 * delete itself is the compare-and-set; the purge only drops the marker).
 */
import { CallState, callStateKeys } from '@avb/contracts';
import { isKvConflict } from '@avb/runtime';
import type { JetStreamClient, JetStreamManager, KV, KvEntry } from 'nats';

export interface StoredCall {
  state: CallState;
  revision: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (state: CallState) => encoder.encode(JSON.stringify(state));

/** How long a count of the active calls is reused (the status endpoint asks for it). */
const COUNT_CACHE_MS = 5000;

export class CallStore {
  private counted: { at: number; count: Promise<number> } | undefined;

  private constructor(private readonly kv: KV, private readonly jsm: JetStreamManager, private readonly bucket: string) {}

  static async open(js: JetStreamClient, jsm: JetStreamManager, bucket: string, ttlS: number): Promise<CallStore> {
    return new CallStore(await js.views.kv(bucket, { history: 1, ttl: ttlS * 1000 }), jsm, bucket);
  }

  private get stream() {
    return `KV_${this.bucket}`;
  }

  /** Points `session.<uuid>` at the call's key. */
  private putSessionPointer(state: CallState): Promise<number> {
    return this.kv.put(callStateKeys.session(state.sessionId), encoder.encode(callStateKeys.call(state.node, state.channelId)));
  }

  /** Drops every message of a key (a delete marker, or the entry itself). */
  private async purge(key: string): Promise<void> {
    await this.jsm.streams.purge(this.stream, { filter: `$KV.${this.bucket}.${key}` });
  }

  /** Calls in the bucket now (all nodes), counted at most every few seconds. */
  activeCalls(): Promise<number> {
    if (!this.counted || Date.now() - this.counted.at > COUNT_CACHE_MS) {
      const count = this.jsm.streams.info(this.stream, { subjects_filter: `$KV.${this.bucket}.${callStateKeys.calls()}` })
        .then((info) => Object.keys(info.state.subjects ?? {}).length);
      this.counted = { at: Date.now(), count };
      count.catch(() => (this.counted = undefined));
    }
    return this.counted.count;
  }

  /** Creates the call and its session pointer; fails when the call key already exists. */
  async create(state: CallState): Promise<number> {
    const [revision] = await Promise.all([
      this.kv.create(callStateKeys.call(state.node, state.channelId), encode(state)),
      this.putSessionPointer(state),
    ]);
    return revision;
  }

  async get(node: string, channelId: string): Promise<StoredCall | undefined> {
    return decodeEntry(await this.kv.get(callStateKeys.call(node, channelId)));
  }

  async getBySession(sessionId: string): Promise<StoredCall | undefined> {
    const pointer = await this.kv.get(callStateKeys.session(sessionId));
    if (!pointer || pointer.operation !== 'PUT') return undefined;
    const stored = decodeEntry(await this.kv.get(decoder.decode(pointer.value)));
    return stored?.state.sessionId === sessionId ? stored : undefined;
  }

  /** Compare-and-set: rejects when the entry changed (or went) since `revision`. */
  async update(state: CallState, revision: number, previousSessionId?: string): Promise<number> {
    const next = await this.kv.update(callStateKeys.call(state.node, state.channelId), encode(state), revision);
    if (previousSessionId !== undefined && previousSessionId !== state.sessionId) {
      await Promise.all([this.putSessionPointer(state), this.purge(callStateKeys.session(previousSessionId))]);
    }
    return next;
  }

  /** Rewrites a live call (and its session pointer) so neither expires; false when it changed meanwhile. */
  async refresh({ state, revision }: StoredCall): Promise<boolean> {
    if (!(await unlessConflict(() => this.update({ ...state, updatedAt: new Date().toISOString() }, revision)))) return false;
    await this.putSessionPointer(state);
    return true;
  }

  /** Deletes the call if it is still at `revision`; false when someone else changed it first. */
  async remove({ state, revision }: StoredCall): Promise<boolean> {
    if (!(await unlessConflict(() => this.kv.delete(callStateKeys.call(state.node, state.channelId), { previousSeq: revision })))) return false;
    await Promise.all([this.purge(callStateKeys.call(state.node, state.channelId)), this.purge(callStateKeys.session(state.sessionId))]);
    return true;
  }

  /** Every call of a node (or of all nodes), as of now. */
  async list(node?: string): Promise<StoredCall[]> {
    // By key: an entry written while the watch reads the bucket can arrive twice; the later wins.
    const calls = new Map<string, StoredCall>();
    let initialized = false;
    // Deletes are not ignored here: nats.js never signals "initialized" when the newest entry is
    // a delete it skipped. decodeEntry() drops them instead.
    const iter = await this.kv.watch({
      key: callStateKeys.calls(node),
      initializedFn: () => {
        initialized = true;
      },
    });
    if (!initialized) {
      for await (const entry of iter) {
        const stored = decodeEntry(entry);
        if (stored) calls.set(entry.key, stored);
        else calls.delete(entry.key);
        if (entry.delta === 0 || initialized) break;
      }
    }
    iter.stop();
    return [...calls.values()];
  }

  /** The nodes that have calls in the bucket (keys only: no entry's value is read). */
  async nodes(): Promise<Set<string>> {
    const nodes = new Set<string>();
    for await (const key of await this.kv.keys(callStateKeys.calls())) nodes.add(key.split('.')[1]!);
    return nodes;
  }

  /** When this node was last reconciled, with the entry's revision (0 when never). */
  async lastReconciled(node: string): Promise<{ at: number; revision: number }> {
    const entry = await this.kv.get(callStateKeys.reconcile(node));
    if (!entry || entry.operation !== 'PUT') return { at: 0, revision: entry?.revision ?? 0 };
    return { at: Date.parse(decoder.decode(entry.value)) || 0, revision: entry.revision };
  }

  /** Claims this node's reconciliation run; false when another instance claimed it first. */
  async claimReconcile(node: string, revision: number): Promise<boolean> {
    const key = callStateKeys.reconcile(node);
    const value = encoder.encode(new Date().toISOString());
    return unlessConflict(() => (revision === 0 ? this.kv.create(key, value) : this.kv.update(key, value, revision)));
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

function decodeEntry(entry: KvEntry | null): StoredCall | undefined {
  if (!entry || entry.operation !== 'PUT') return undefined;
  try {
    const parsed = CallState.safeParse(JSON.parse(decoder.decode(entry.value)));
    return parsed.success ? { state: parsed.data, revision: entry.revision } : undefined;
  } catch {
    return undefined;
  }
}
