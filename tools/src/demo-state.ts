/** `<DEMO_DIR>/state.json`: where the running demo's NATS is and which processes are its, for `pnpm tail` and tests. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DemoState = z.object({
  pid: z.number().int(),
  natsUrl: z.string(),
  healthUrl: z.string(),
  ariUrl: z.string(),
  /** Every process the demo started, by name (`call-controller-1`, ...). */
  processes: z.record(z.string(), z.number().int()),
});
export type DemoState = z.infer<typeof DemoState>;

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const defaultDemoDir = () => join(repoRoot, '.demo');

export function writeDemoState(dir: string, state: DemoState): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
}

export function readDemoState(dir: string): DemoState | undefined {
  try {
    return DemoState.parse(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')));
  } catch {
    return undefined;
  }
}

export function removeDemoState(dir: string): void {
  rmSync(join(dir, 'state.json'), { force: true });
}
