/**
 * Renders the compose stack's config the way its containers do, by running the containers' own
 * entrypoints (docker/nats/entrypoint.sh, docker/asterisk/entrypoint.sh) on a temp dir with the
 * environment compose gives them, and reads the compose file's defaults for that environment.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { repoRoot } from './harness/services.js';

const run = promisify(execFile);

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; disable?: boolean };
  container_name?: string;
  hostname?: string;
  volumes?: string[];
  stop_signal?: string;
  stop_grace_period?: string;
}

export const readRepo = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

/** The services of docker-compose.yml, or of an override file such as docker-compose.cluster.yml. */
export function composeServices(file = 'docker-compose.yml'): Record<string, ComposeService> {
  return (parse(readRepo(file), { merge: true }) as { services: Record<string, ComposeService> }).services;
}

/**
 * A compose value with `.env` applied as compose would: `${X:-default}` and `${X}` take `dotenv.X`
 * (or the default), `${X:?message}` must be set.
 */
export function interpolate(value: string, dotenv: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const set = dotenv[name];
    if (set !== undefined && set !== '') return set;
    if (op === '?') throw new Error(`compose needs ${name}: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

/** The environment compose gives a service, with `.env` values applied. */
export function serviceEnv(service: ComposeService, dotenv: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), dotenv)]));
}

export interface RenderResult {
  ok: boolean;
  stderr: string;
  dir: string;
}

async function runEntrypoint(script: string, env: Record<string, string>, dir: string): Promise<RenderResult> {
  try {
    const { stderr } = await run('sh', [join(repoRoot, script)], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 10_000 });
    return { ok: true, stderr, dir };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: string }).stderr ?? err), dir };
  }
}

/** docker/nats/entrypoint.sh's rendered nats.conf (render step only), in a new temp dir. */
export async function renderNatsConf(env: Record<string, string>): Promise<RenderResult & { conf?: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'avb-nats-render-'));
  const out = join(dir, 'nats.conf');
  const result = await runEntrypoint('docker/nats/entrypoint.sh', {
    ...env,
    NATS_CONF_TEMPLATE: join(repoRoot, 'docker/nats/nats.conf'),
    NATS_CLUSTER_CONF_TEMPLATE: join(repoRoot, 'docker/nats/cluster.conf'),
    NATS_CONF_OUT: out,
    NATS_RENDER_ONLY: '1',
  }, dir);
  return result.ok ? { ...result, conf: await readFile(out, 'utf8') } : result;
}

/** The Asterisk config files docker/asterisk/entrypoint.sh writes (render step only). */
export async function renderAsteriskConf(env: Record<string, string>): Promise<RenderResult & { files: Map<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'avb-asterisk-render-'));
  const result = await runEntrypoint('docker/asterisk/entrypoint.sh', {
    ...env,
    AVB_CONF_SRC: join(repoRoot, 'docker/asterisk/conf'),
    AVB_CONF_DIR: dir,
    AVB_RENDER_ONLY: '1',
  }, dir);
  const files = new Map<string, string>();
  if (result.ok) {
    for (const name of await readdir(dir)) files.set(name, await readFile(join(dir, name), 'utf8'));
  }
  return { ...result, files };
}
