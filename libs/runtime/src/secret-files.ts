/**
 * Reads the files that `*_FILE` env vars (and NATS_CREDS) name, once, at config load: each file's
 * contents (one trailing newline trimmed) go to the key FILE_VARS maps it to. Problems name the
 * variable and the path, never the contents.
 */
import { readFileSync } from 'node:fs';
import { FILE_VARS, type FileVar } from '@avb/contracts';

/** Larger than any password, creds file or PEM chain: a mistaken path must not be read whole. */
const MAX_FILE_BYTES = 1024 * 1024;

export type Env = Record<string, string | undefined>;

export function readSecretFiles(env: Env): { env: Env; problems: string[] } {
  const out: Env = { ...env };
  const problems: string[] = [];
  for (const [fileVar, target] of Object.entries(FILE_VARS) as Array<[FileVar, string]>) {
    const path = env[fileVar];
    delete out[fileVar];
    if (path === undefined || path === '') continue;
    if (env[target] !== undefined && env[target] !== '') {
      problems.push(`${fileVar}: give either ${target} or ${fileVar}, not both`);
      continue;
    }
    const read = readText(path);
    if (!read.ok) problems.push(`${fileVar}: cannot read ${path} (${read.reason})`);
    else if (read.text === '') problems.push(`${fileVar}: ${path} is empty`);
    else out[target] = read.text;
  }
  return { env: out, problems };
}

function readText(path: string): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_FILE_BYTES) return { ok: false, reason: `larger than ${MAX_FILE_BYTES} bytes` };
    return { ok: true, text: buf.toString('utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    // Only the code (ENOENT, EACCES, EISDIR): the message of some errors quotes more than needed.
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: typeof code === 'string' ? code : 'unreadable' };
  }
}
