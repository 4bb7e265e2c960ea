/**
 * The actor runtime around the machine (issue 15, defect 1): whatever an effect or a transition
 * throws, the actor ends, every event it holds is settled exactly once, and nothing stays
 * registered (before, a handler that threw left a zombie that kept its event alive forever and
 * made shutdown wait out its grace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from './testing/model-world.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

/** Completes every reply and delivers every event until nothing is pending. */
async function settle(w: World): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const p = w.pending.shift();
    const m = w.deliverable()[0];
    if (p) p.complete('ok');
    else if (m) w.deliver(m, w.alive()[0]!);
    else return;
    await flush();
  }
}

describe('call actor runtime', () => {
  it('a publish that throws (NATS draining) does not stop the call: events settled, no actor left', async () => {
    const w = new World('hangup', 'audiosocket', { publish: () => { throw new Error('NATS connection draining'); } });
    const instance = w.startInstance();
    const caller = w.placeCall(0);
    await settle(w);
    assert.equal([...w.bridges.values()].filter((b) => b.channels.has(caller)).length, 1, 'bridged');
    assert.equal(instance.actors.size, 0, 'no actor once the call is up');
    w.hangup(caller);
    await settle(w);
    assert.equal(w.channels.size + w.bridges.size, 0, 'nothing left');
    assert.equal(instance.actors.size, 0);
    assert.ok(w.deliveries.every((d) => d.settles === 1), JSON.stringify(w.deliveries));
    await instance.actors.shutdown(); // resolves at once: nothing to wait for
    instance.actors.stop();
  });

  it('sets up at most its limit of callers at once; the others wait in arrival order, kept alive, and a shutdown hands them back', async () => {
    const w = new World('hangup', 'audiosocket');
    const instance = w.startInstance(); // the model's limit: 2 at once
    const callers = [0, 1, 2, 3, 4].map(() => w.placeCall(0));
    for (let m = w.deliverable()[0]; m; m = w.deliverable()[0]) {
      w.deliver(m, instance);
      await flush();
    }
    const answered = () => w.pending.filter((p) => p.what.startsWith('channels.answer')).map((p) => p.what);
    assert.equal(answered().length, 2, 'two setups begun');
    assert.equal(instance.actors.queued, 3);
    assert.ok(answered().every((a, i) => a.includes(callers[i]!)), 'the first two callers');
    assert.ok(instance.actors.has('pbx1', callers[4]!), 'a waiting caller counts as worked on (reconciliation leaves it alone)');
    // The first setup completes: the third caller begins, the last two still wait.
    for (let i = 0; i < 1000 && instance.actors.queued === 3; i++) {
      const p = w.pending.shift();
      const m = w.deliverable()[0];
      if (p) p.complete('ok');
      else if (m) w.deliver(m, instance);
      await flush();
    }
    assert.equal(instance.actors.queued, 2);
    assert.ok(w.pending.some((p) => p.what.includes(callers[2]!)), 'the third caller, next in arrival order');
    assert.ok(!w.pending.some((p) => p.what.includes(callers[3]!) || p.what.includes(callers[4]!)), 'the last two: nothing asked yet');
    // Stopping: the waiting callers go back to the stream at once, the ones in hand finish.
    let stopped = false;
    void instance.actors.shutdown().then(() => (stopped = true));
    assert.equal(instance.actors.queued, 0);
    // What is handed back goes to another instance; here only the rest is delivered.
    const back = new Set([callers[3], callers[4]]);
    for (let i = 0; i < 1000 && !stopped; i++) {
      const p = w.pending.shift();
      const m = w.deliverable().find((x) => !back.has(x.event.channel.id));
      if (p) p.complete('ok');
      else if (m) w.deliver(m, instance);
      await flush();
    }
    assert.ok(stopped, 'the calls in hand finished');
    const starts = w.stream.filter((m) => m.type === 'StasisStart' && back.has(m.event.channel.id));
    assert.deepEqual(starts.map((m) => [m.acked, m.heldBy]), [[false, undefined], [false, undefined]], 'handed back, for another instance');
    assert.ok([...back].every((id) => w.channels.get(id!)?.inStasis && [...w.bridges.values()].every((b) => !b.channels.has(id!))), 'still waiting in Stasis, in no bridge');
    instance.actors.stop();
  });

  it('a transition that throws (a bug) hands its events back and leaves no actor', async () => {
    let broken = true;
    const w = new World('hangup', 'audiosocket', { uuid: () => { if (broken) throw new Error('a bug in a transition'); } });
    const instance = w.startInstance();
    w.placeCall(0);
    await settle(w);
    assert.equal(instance.actors.size, 0, 'the failed actor is gone');
    assert.equal(w.deliveries.length >= 1 && w.deliveries.every((d) => d.settles === 1), true, JSON.stringify(w.deliveries));
    assert.equal(w.stream[0]!.acked, false, 'handed back, not acked');
    broken = false;
    await settle(w); // redelivered: now it works
    assert.equal(w.bridges.size, 1, 'set up on the next delivery');
    instance.actors.stop();
  });
});
