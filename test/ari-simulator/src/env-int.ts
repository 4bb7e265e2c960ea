// Integer env vars for the standalone mains: every problem is collected, none thrown one by one.

export function readInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  problems: string[],
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer in [${min}, ${max}], got '${raw}'`);
    return fallback;
  }
  return value;
}
