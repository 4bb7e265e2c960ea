/**
 * How every service reaches NATS: servers, at most one authentication method (user/password,
 * token, creds file or nkey seed) and TLS. Secrets and PEMs may come from files (`*_FILE`,
 * `NATS_CREDS`): the runtime reads those at config load into the keys `FILE_VARS` names, so the
 * schemas here stay pure. The parsed config carries them only in its `nats` part, which is what
 * `connectNats` takes; the flat secret keys are removed from it.
 */
import { z } from 'zod';

/** Env var naming a file -> the config key its contents go to (one trailing newline trimmed). */
export const FILE_VARS = {
  ARI_PASSWORD_FILE: 'ARI_PASSWORD',
  NATS_PASSWORD_FILE: 'NATS_PASSWORD',
  NATS_TOKEN_FILE: 'NATS_TOKEN',
  NATS_CREDS: 'NATS_CREDS_CONTENT',
  NATS_NKEY_SEED_FILE: 'NATS_NKEY_SEED',
  NATS_TLS_CA_FILE: 'NATS_TLS_CA',
  NATS_TLS_CERT_FILE: 'NATS_TLS_CERT',
  NATS_TLS_KEY_FILE: 'NATS_TLS_KEY',
} as const;
export type FileVar = keyof typeof FILE_VARS;

/** Messages never echo the value: these are secrets. */
const Secret = z.string().max(4096, 'too long');
const Pem = z.string().max(1024 * 1024, 'too large').regex(/-----BEGIN [A-Z0-9 ]+-----/, 'must be PEM');

export const natsConfigFields = {
  NATS_URL: z
    .string()
    .min(1)
    .default('nats://127.0.0.1:4222')
    .refine((v) => v.split(',').every((s) => /^((nats|tls):\/\/)?[^\s/]+(:\d+)?\/?$/.test(s.trim())), 'must be nats:// or tls:// host:port, comma-separated'),
  NATS_USER: z.string().max(256).optional(),
  NATS_PASSWORD: Secret.optional(),
  NATS_TOKEN: Secret.optional(),
  /** Contents of the file NATS_CREDS names (JWT and nkey seed). */
  NATS_CREDS_CONTENT: z.string().max(64 * 1024, 'too large').regex(/-----BEGIN NATS USER JWT-----[\s\S]*-----BEGIN USER NKEY SEED-----/, 'must be a NATS .creds file').optional(),
  /** A user nkey seed (`SU...`), usually from NATS_NKEY_SEED_FILE. */
  NATS_NKEY_SEED: z.string().regex(/^S[A-Z][A-Z2-7]{56}$/, 'must be an nkey seed (S...)').optional(),
  NATS_TLS_CA: Pem.optional(),
  NATS_TLS_CERT: Pem.optional(),
  NATS_TLS_KEY: Pem.optional(),
};

const NatsFields = z.object(natsConfigFields);
type NatsFields = z.output<typeof NatsFields>;
type SecretKey = Exclude<keyof NatsFields, 'NATS_URL'>;

/** What `connectNats` needs; `pass`, `token`, `creds`, `nkeySeed` and `tls.key` are secrets (redacted). */
export interface NatsConnectionConfig {
  servers: string[];
  /** For log lines: which method, never the secret. */
  auth: 'none' | 'user' | 'token' | 'creds' | 'nkey';
  user?: string;
  pass?: string;
  token?: string;
  creds?: string;
  nkeySeed?: string;
  /** Set when a CA, a client certificate or a tls:// URL is given. */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Cross-field rules: one auth method, user with password, certificate with key. */
export function checkNatsConfig(c: NatsFields, ctx: z.RefinementCtx): void {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if ((c.NATS_USER === undefined) !== (c.NATS_PASSWORD === undefined)) {
    problem(c.NATS_USER === undefined ? 'NATS_USER' : 'NATS_PASSWORD', 'NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) go together');
  }
  const methods = [
    c.NATS_USER !== undefined || c.NATS_PASSWORD !== undefined ? 'NATS_USER/NATS_PASSWORD' : undefined,
    c.NATS_TOKEN !== undefined ? 'NATS_TOKEN' : undefined,
    c.NATS_CREDS_CONTENT !== undefined ? 'NATS_CREDS' : undefined,
    c.NATS_NKEY_SEED !== undefined ? 'NATS_NKEY_SEED_FILE' : undefined,
  ].filter((m) => m !== undefined);
  if (methods.length > 1) problem('NATS_URL', `give one NATS authentication method, not ${methods.join(' and ')}`);
  if ((c.NATS_TLS_CERT === undefined) !== (c.NATS_TLS_KEY === undefined)) {
    problem(c.NATS_TLS_CERT === undefined ? 'NATS_TLS_CERT_FILE' : 'NATS_TLS_KEY_FILE', 'NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together');
  }
}

/**
 * Runs checkNatsConfig even when other fields already failed, so every problem is reported at
 * once (it only compares fields with undefined, which is safe on partly invalid input).
 */
export const evenWithOtherProblems = {
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null,
};

/** Moves the NATS fields into `nats` and drops the flat secret keys from the config. */
export function withNatsConnection<T extends NatsFields>(c: T): Omit<T, SecretKey> & { nats: NatsConnectionConfig } {
  const {
    NATS_USER: user, NATS_PASSWORD: pass, NATS_TOKEN: token, NATS_CREDS_CONTENT: creds, NATS_NKEY_SEED: nkeySeed,
    NATS_TLS_CA: ca, NATS_TLS_CERT: cert, NATS_TLS_KEY: key, ...rest
  } = c;
  const servers = c.NATS_URL.split(',').map((s) => s.trim()).filter(Boolean);
  const nats: NatsConnectionConfig = { servers, auth: 'none' };
  if (user !== undefined && pass !== undefined) Object.assign(nats, { auth: 'user', user, pass });
  else if (token !== undefined) Object.assign(nats, { auth: 'token', token });
  else if (creds !== undefined) Object.assign(nats, { auth: 'creds', creds });
  else if (nkeySeed !== undefined) Object.assign(nats, { auth: 'nkey', nkeySeed });
  if (ca !== undefined || cert !== undefined || servers.some((s) => s.startsWith('tls://'))) {
    nats.tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  }
  return { ...rest, nats };
}
