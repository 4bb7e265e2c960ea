/**
 * The demo's child processes: each started with its output in a log file, reported when it
 * exits, and stopped with SIGTERM (then SIGKILL after a grace period) in a chosen order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | string>;
  /** Resolves with the first output line `match` accepts (a copy of stdout goes to the log). */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  stop(graceMs: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  logDir: string;
  onExit(child: Child, result: number | string): void;
  /** Every output line (stdout and stderr), after it was written to the log file. */
  onLine?(line: string, stream: 'stdout' | 'stderr'): void;
}

export function startChild(opts: SpawnOptions): Child {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  // One log per run, both streams in it as they come; stdout lines are also read for readiness.
  const logFd = openSync(logFile, 'w');
  // Its own process group: the terminal's Ctrl-C reaches only the demo, which stops its
  // processes in order (services before the simulator they talk to, NATS last).
  const proc = spawn(opts.command, opts.args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  const append = (line: string) => {
    try {
      // Synchronous append keeps lines whole and in order; the volume is a demo's.
      writeSync(logFd, `${line}\n`);
    } catch {
      // a full disk (or a log closed at exit) must not stop the demo
    }
  };
  if (proc.stdout) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      append(line);
      if (lines.length < 200) lines.push(line);
      for (const w of waiters) w(line);
      opts.onLine?.(line, 'stdout');
    });
  }
  if (proc.stderr) {
    createInterface({ input: proc.stderr }).on('line', (line) => {
      append(line);
      opts.onLine?.(line, 'stderr');
    });
  }
  let stopping: Promise<void> | undefined;
  const child: Child = {
    name: opts.name,
    proc,
    logFile,
    // 'close' comes after the last output line, 'exit' possibly before it.
    exited: new Promise((resolve) => proc.once('close', (code, signal) => {
      try {
        closeSync(logFd);
      } catch {
        // already closed
      }
      resolve(code ?? signal ?? 'unknown');
    })),
    waitForLine(match, timeoutMs) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${opts.name}: not ready within ${timeoutMs} ms (see ${logFile})`));
        }, timeoutMs);
        const waiter = (line: string) => {
          if (!match(line)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(line);
        };
        waiters.add(waiter);
        void child.exited.then((result) => {
          if (!waiters.has(waiter)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(new Error(`${opts.name} exited (${result}) before it was ready (see ${logFile})`));
        });
      });
    },
    stop(graceMs) {
      stopping ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await child.exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  void child.exited.then((result) => opts.onExit(child, result));
  return child;
}

/** A pino JSON line with this `msg`. */
export const pinoMsg = (msg: string) => (line: string) => {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === msg;
  } catch {
    return false;
  }
};

/** A JSON status line (the simulator's and the echo server's) with this `status`. */
export const statusLine = (status: string) => (line: string) => {
  try {
    return (JSON.parse(line) as { status?: unknown }).status === status;
  } catch {
    return false;
  }
};
