/**
 * Event relay latency: the simulator sends ARI frames at a steady rate on the gateway's
 * WebSocket; a NATS subscriber on `ari.event.<app>.>` timestamps each arrival. Both ends are in
 * this process, so one clock times them; frames are matched by a sequence number in `value`.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { subjects } from '@avb/contracts';
import type { NatsConnection } from 'nats';
import { summarize, type Summary } from './percentiles.js';

export interface RelayResult {
  rate: number;
  sent: number;
  received: number;
  latency: Summary;
}

const decoder = new TextDecoder();

/** A ChannelVarset as Asterisk sends it, `value` carrying the sequence number. */
function frame(app: string, seq: number): string {
  const timestamp = new Date().toISOString().replace('Z', '+0000');
  return `{"variable":"BENCH_SEQ","value":"${seq}","type":"ChannelVarset","timestamp":"${timestamp}",`
    + '"channel":{"id":"1764000000.1","name":"Local/100@ai-in-00000001;2","state":"Up","protocol_id":"",'
    + '"caller":{"name":"","number":"+4930123456"},"connected":{"name":"","number":""},"accountcode":"",'
    + '"dialplan":{"context":"ai-in","exten":"100","priority":2,"app_name":"Stasis","app_data":"ai_app"},'
    + `"creationtime":"${timestamp}","language":"en"},"asterisk_id":"02:fc:00:00:00:01","application":"${app}"}`;
}

export async function measureRelay(sim: AriSimulator, nc: NatsConnection, app: string, rate: number, seconds: number): Promise<RelayResult> {
  const total = rate * seconds;
  const sentAt = new Float64Array(total);
  const latencies: number[] = [];
  const sub = nc.subscribe(subjects.ariEvents(app), {
    callback: (_err, msg) => {
      const now = performance.now();
      const text = decoder.decode(msg.data);
      const at = text.indexOf('"value":"');
      if (at < 0 || !text.includes('BENCH_SEQ')) return;
      const seq = Number.parseInt(text.slice(at + 9), 10);
      if (seq >= 0 && seq < total) latencies.push(now - sentAt[seq]!);
    },
  });
  await nc.flush();
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    // A 1 ms tick that catches up to the rate: at most a handful of frames per tick.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      while (sent < due) {
        const data = frame(app, sent);
        sentAt[sent] = performance.now();
        sim.sendRaw(app, data);
        sent += 1;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const deadline = performance.now() + 5000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  sub.unsubscribe();
  return { rate, sent, received: latencies.length, latency: summarize(latencies) };
}
