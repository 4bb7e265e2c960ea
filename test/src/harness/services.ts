/**
 * Runs a service as a real process (`node services/<name>/dist/main.js`) with a given env, keeps
 * every stdout/stderr line (pino JSON) for assertions, and stops it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { reapOnExit } from './reaper.js';
import { waitUntil } from './util.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'ari-gateway' | 'call-controller' | 'health';

export interface LogLine {
  raw: string;
  json: Record<string, unknown> | undefined;
}

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  lines: LogLine[];
  /** Resolves when a log line matches (already seen lines count). */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Sends the signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  exited: Promise<number | string>;
}

/** `maxLines`: keep only about the newest this many lines (a benchmark logs for minutes). */
export function startService(name: ServiceName, env: Record<string, string>, opts: { maxLines?: number } = {}): ServiceProcess {
  const maxLines = opts.maxLines ?? Number.POSITIVE_INFINITY;
  // AVB_NODE_ARGS passes flags such as --cpu-prof to every service (NODE_OPTIONS refuses those).
  const nodeArgs = process.env.AVB_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, `${repoRoot}services/${name}/dist/main.js`], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  reapOnExit(child);
  const lines: LogLine[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (raw) => {
      let json: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      lines.push({ raw, json });
      if (lines.length > maxLines) lines.splice(0, Math.ceil(maxLines / 2));
      if (process.env.AVB_TEST_LOGS) process.stderr.write(`[${name}] ${raw}\n`);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );

  return {
    name,
    child,
    lines,
    exited,
    async waitForLog(match, timeoutMs = 10_000, what = 'a log line') {
      let found: LogLine | undefined;
      await waitUntil(() => (found = lines.find(match)) !== undefined, timeoutMs, `${name}: ${what}`);
      return found!;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Matches a pino line by its `msg`. */
export const logMsg = (msg: string) => (line: LogLine) => line.json?.msg === msg;
