/** Parses env with a contracts config schema; prints every problem at once and exits 1. */
import { parseConfig } from '@avb/contracts';
import type { z } from 'zod';

export function loadConfigOrExit<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = parseConfig(schema, env);
  if (parsed.ok) return parsed.config;
  process.stderr.write(
    `${JSON.stringify({ level: 60, service, msg: 'invalid configuration', problems: parsed.problems })}\n`,
  );
  process.exit(1);
}
