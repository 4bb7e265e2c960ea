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
