/**
 * Kills every child process a test file started when that file's process exits, however it
 * exits (a failed `before`, an uncaught error), so no nats-server or service outlives its suite.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export function reapOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
