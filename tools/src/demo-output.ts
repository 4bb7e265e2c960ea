/**
 * What the demo's terminal shows of its processes' output: every line as a human line (see
 * log-format.ts), except the per-call info lines, which would scroll everything else away at a
 * few calls a second (they stay in the log files; `pnpm tail 'call.>'` shows each call). Warnings
 * and errors always show.
 */
import { formatLogLine, parseLogLine } from './log-format.js';

/** Info lines about one call carry its ids. */
const CALL_FIELDS = ['channelId', 'sessionId', 'callId'];
const QUIET_LEVELS = new Set(['trace', 'debug', 'info']);

/** Whether a process's output line is shown in the demo's terminal. */
export function showsInTerminal(line: string): boolean {
  const parsed = parseLogLine(line);
  if (!parsed) return line.trim() !== '';
  if (!QUIET_LEVELS.has(parsed.level)) return true;
  return !CALL_FIELDS.some((k) => k in parsed.fields);
}

export interface DemoOutput {
  /** One output line of process `name`. */
  processLine(name: string, line: string): void;
  /** A line of the demo's own, in the same columns. */
  say(text: string): void;
  /** A line as it is (the banner). */
  raw(text: string): void;
  /** From now on only warnings and errors of the processes (while they stop). */
  quiet(): void;
}

export function createDemoOutput(write: (text: string) => void, color: boolean, nameWidth = 18): DemoOutput {
  const opts = { nameWidth, color, now: () => new Date() };
  let quiet = false;
  return {
    processLine(name, line) {
      if (!showsInTerminal(line)) return;
      if (quiet && QUIET_LEVELS.has(parseLogLine(line)?.level ?? 'info')) return;
      write(`${formatLogLine(name, line, opts)}\n`);
    },
    quiet() {
      quiet = true;
    },
    say(text) {
      write(`${new Date().toISOString().slice(11, 23)} ${'demo'.padEnd(nameWidth)} ${text}\n`);
    },
    raw(text) {
      write(`${text}\n`);
    },
  };
}
