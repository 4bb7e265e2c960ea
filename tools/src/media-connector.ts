/**
 * The demo's stand-in for a media server's own call handling in chan_websocket server mode: it
 * takes each `media_ready` off NATS and has the WebSocket echo server connect to the event's URL
 * (`POST /connect` on the echo server's port). A real media server does the same by itself:
 * subscribe to `call.event.<app>.*.media_ready`, connect to `media.url`, and the call is bridged.
 *   NATS_URL, ARI_APP (default ai_app), MEDIA_CONNECT_URL (the echo server's /connect)
 * Status lines are JSON (`{"status":"ready"}`, then one line per connection that failed).
 */
import { CallEvent, subjects } from '@avb/contracts';
import { connect } from 'nats';

const env = process.env;
const natsUrl = env.NATS_URL ?? 'nats://127.0.0.1:4222';
const app = env.ARI_APP ?? 'ai_app';
const connectUrl = env.MEDIA_CONNECT_URL;
const line = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);

if (!connectUrl || !/^https?:\/\//.test(connectUrl)) {
  process.stderr.write('media-connector: MEDIA_CONNECT_URL must be the echo server\'s http://host:port/connect\n');
  process.exit(1);
}

const nc = await connect({ servers: natsUrl.split(','), name: 'media-connector' });
const decoder = new TextDecoder();
let connected = 0;
let failed = 0;

nc.subscribe(subjects.callEvent(app, '*', 'media_ready'), {
  callback: (err, msg) => {
    if (err) return;
    const parsed = CallEvent.safeParse(JSON.parse(decoder.decode(msg.data)));
    const url = parsed.success ? parsed.data.media?.url : undefined;
    if (!parsed.success || url === undefined) return void line({ level: 'warn', msg: 'media_ready without a URL', subject: msg.subject });
    const sessionId = parsed.data.sessionId;
    fetch(connectUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) }).then(
      async (res) => {
        if (res.ok) return void (connected += 1);
        failed += 1;
        line({ level: 'warn', msg: 'the echo server could not connect', sessionId, status: res.status, reply: await res.text() });
      },
      (e: unknown) => {
        failed += 1;
        line({ level: 'warn', msg: 'echo server unreachable', sessionId, error: e instanceof Error ? e.message : String(e) });
      },
    );
  },
});
await nc.flush();

const stop = async () => {
  await nc.drain().catch(() => undefined);
  line({ status: 'stopped', connected, failed });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
line({ status: 'ready', subject: subjects.callEvent(app, '*', 'media_ready'), connectUrl });
