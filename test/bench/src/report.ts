/** The bench's result: one row per figure beside its target, printed as a table and kept as JSON. */
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Row {
  figure: string;
  measured: string;
  target: string;
  /** undefined: no target, shown for information. */
  pass: boolean | undefined;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  loadavgAtStart: number[];
  loadavgAtEnd?: number[];
}

export function machineInfo(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'pass' : 'FAIL');

/** A Markdown table, so the README can show it as printed. */
export function formatTable(rows: Row[]): string {
  const header = ['figure', 'measured', 'target', ''];
  const cells = rows.map((r) => [r.figure, r.measured, r.target, verdict(r.pass)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.map(line)].join('\n');
}
