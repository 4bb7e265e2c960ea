/**
 * Parses env with a contracts config schema, after reading the secret files it names; prints
 * every problem at once (never a value) and exits 1.
 */
import { parseConfig } from '@avb/contracts';
import type { z } from 'zod';
import { readSecretFiles, type Env } from './secret-files.js';

/** Every problem with `env`, or the config. Pure apart from reading the files env names. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env): { ok: true; config: z.output<S> } | { ok: false; problems: string[] } {
  const files = readSecretFiles(env);
  const parsed = parseConfig(schema, files.env);
  if (parsed.ok && files.problems.length === 0) return parsed;
  return { ok: false, problems: [...files.problems, ...(parsed.ok ? [] : parsed.problems)] };
}

export function loadConfigOrExit<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const loaded = loadConfig(schema, env);
  if (loaded.ok) return loaded.config;
  process.stderr.write(
    `${JSON.stringify({ level: 60, service, msg: 'invalid configuration', problems: loaded.problems })}\n`,
  );
  process.exit(1);
}
