/**
 * `pnpm tail [subject]` (default `ari.>`): prints every message on a NATS subject pattern, one
 * readable line each, for users without the `nats` CLI. NATS: NATS_URL, else the running demo's
 * (DEMO_DIR/state.json), else nats://127.0.0.1:4222. Ctrl-C stops it.
 */
import { connect } from 'nats';
import { defaultDemoDir, readDemoState } from './demo-state.js';
import { formatMessage } from './tail-format.js';

const subject = process.argv[2] ?? 'ari.>';
const url = process.env.NATS_URL || readDemoState(process.env.DEMO_DIR || defaultDemoDir())?.natsUrl || 'nats://127.0.0.1:4222';

let nc;
try {
  nc = await connect({ servers: url.split(','), name: 'avb-tail', maxReconnectAttempts: -1 });
} catch (err) {
  process.stderr.write(`tail: cannot connect to NATS at ${url}: ${(err as Error).message}\n`);
  process.exit(1);
}
const conn = nc;
// `pnpm tail | head` closes the pipe: that is the reader being done, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.stderr.write(`tail: ${subject} on ${url} (Ctrl-C stops)\n`);
conn.subscribe(subject, {
  callback: (err, msg) => {
    if (err) {
      process.stderr.write(`tail: ${err.message}\n`);
      return;
    }
    process.stdout.write(`${formatMessage({ subject: msg.subject, data: msg.data, reply: msg.reply, at: new Date() })}\n`);
  },
});
const stop = () => {
  void conn.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
