/**
 * `pnpm tail [subject] [--json]` (default `ari.>`): every message on a NATS subject pattern, one
 * readable line each; a request is shown once its reply arrives, with the reply and the round
 * trip. `--json`: each message as one JSON object instead (replies too, with `inReplyTo`).
 * NATS: NATS_URL, else the running demo's (DEMO_DIR/state.json), else nats://127.0.0.1:4222.
 * Ctrl-C stops it (exit 0).
 *
 * Only node: modules are loaded before the first line: nats and the formatters (zod among them)
 * take a few hundred ms to load, and the first line should not wait for them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** A request unanswered this long is shown as such (the controller waits ARI_HTTP_TIMEOUT + 2 s). */
const REPLY_TIMEOUT_MS = 15_000;

let args: ReturnType<typeof parseTailArgs>;
try {
  args = parseTailArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`tail: ${(err as Error).message}\nusage: pnpm tail [subject] [--json]\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write('usage: pnpm tail [subject] [--json]   (subject: any NATS pattern, default ari.>)\n');
  process.exit(0);
}
const url = process.env.NATS_URL || demoNatsUrl(process.env.DEMO_DIR) || 'nats://127.0.0.1:4222';
process.stderr.write(`tail: ${args.subject} on ${url}${args.json ? ', as JSON' : ''} (Ctrl-C stops)\n`);

// Ctrl-C (or `kill`) is how tail is meant to end: exit 0 at once, so the package manager that
// started it (and got the same Ctrl-C) sees a clean end, not a failure. Nothing is left to flush:
// the server drops the subscription with the connection.
const stop = () => process.exit(0);
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// `pnpm tail | head` closes the pipe: that is the reader being done, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const [{ connect }, { formatExchange, formatJson, formatMessage }, { createRequestTracker, replyPattern }] = await Promise.all([
  import('nats'),
  import('./tail-format.js'),
  import('./tail-requests.js'),
]);
let nc;
try {
  nc = await connect({ servers: url.split(','), name: 'avb-tail', maxReconnectAttempts: -1 });
} catch (err) {
  process.stderr.write(`tail: cannot connect to NATS at ${url}: ${(err as Error).message}\n`);
  process.exit(1);
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const tracker = createRequestTracker(REPLY_TIMEOUT_MS);
const INBOX = '_INBOX.';
/** Tailing inboxes themselves: every message as it is, no pairing. */
const pairing = !args.subject.startsWith(INBOX);
/** Reply patterns of requesters with their own inbox prefix (most use _INBOX, subscribed below). */
const otherInboxes = new Set<string>();
const isReply = (subject: string) => subject.startsWith(INBOX) || otherInboxes.has(replyPattern(subject));
const unanswered = (request: Parameters<typeof formatMessage>[0], waitedMs: number) =>
  print(args.json ? formatJson(request, { unanswered: true }) : formatExchange(request, { waitedMs }));

/** A reply this tail saw asked for is printed with its request; any other is not this tail's business. */
const onReply = (subject: string, data: Uint8Array) => {
  const answered = tracker.reply(subject, performance.now());
  if (!answered) return;
  const msg = { subject, data, at: new Date() };
  if (args.json) print(formatJson(msg, { inReplyTo: answered.request.subject, rttMs: Math.round(answered.rttMs * 1000) / 1000 }));
  else print(formatExchange(answered.request, { msg, rttMs: answered.rttMs }));
};
const replyCallback = (err: Error | null, r: { subject: string; data: Uint8Array }) => {
  if (!err) onReply(r.subject, r.data);
};
// Subscribed before any request is seen, so no reply can arrive before its subscription does.
if (pairing) nc.subscribe(`${INBOX}>`, { callback: replyCallback });

nc.subscribe(args.subject, {
  callback: (err, msg) => {
    if (err) return void process.stderr.write(`tail: ${err.message}\n`);
    if (pairing && isReply(msg.subject)) return void onReply(msg.subject, msg.data);
    const m = { subject: msg.subject, data: msg.data, reply: msg.reply, at: new Date() };
    // Relayed events carry a reply subject too (where the event stream's storage ack goes): not a request.
    const reply = pairing && !msg.subject.startsWith('ari.event.') ? msg.reply : undefined;
    if (!reply) return void print(args.json ? formatJson(m) : formatMessage(m));
    const pattern = replyPattern(reply);
    if (!reply.startsWith(INBOX) && !otherInboxes.has(pattern) && otherInboxes.size < 100) {
      otherInboxes.add(pattern);
      nc.subscribe(pattern, { callback: replyCallback });
    }
    if (args.json) print(formatJson(m));
    for (const pushed of tracker.request(m, performance.now())) unanswered(pushed, 0);
  },
});
setInterval(() => {
  for (const request of tracker.expired(performance.now())) unanswered(request, REPLY_TIMEOUT_MS);
}, 1000).unref();

/** `[subject] [--json]`. */
function parseTailArgs(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (positionals.length > 1) throw new Error(`one subject pattern, not ${positionals.length}`);
  return { subject: positionals[0] ?? 'ari.>', json: values.json, help: values.help };
}

/** The running demo's NATS, from its state file (read without zod, which is slow to load). */
function demoNatsUrl(dir: string | undefined): string | undefined {
  const file = join(dir || fileURLToPath(new URL('../../.demo/', import.meta.url)), 'state.json');
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as { natsUrl?: unknown };
    return typeof state.natsUrl === 'string' ? state.natsUrl : undefined;
  } catch {
    return undefined;
  }
}
