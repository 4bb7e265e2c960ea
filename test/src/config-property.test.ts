/**
 * Property: whatever is put in the secret variables (or in the files they name), a config
 * problem names the variable, never the value, and a loaded config logged whole shows no secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ControllerConfig, GatewayConfig, HealthConfig } from '@avb/contracts';
import { createLogger, loadConfig } from '@avb/runtime';
import fc from 'fast-check';

const dir = mkdtempSync(join(tmpdir(), 'avb-config-prop-'));
let files = 0;
const fileWith = (text: string) => {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, text);
  return path;
};

/** Recognisable and long enough that finding it in a message cannot be a coincidence. */
const secret = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => `SECRET-${s}-X9`);
const DIRECT = ['NATS_PASSWORD', 'NATS_TOKEN', 'ARI_PASSWORD', 'NATS_NKEY_SEED', 'NATS_TLS_KEY'] as const;
const FROM_FILE = ['NATS_PASSWORD_FILE', 'NATS_TOKEN_FILE', 'ARI_PASSWORD_FILE', 'NATS_NKEY_SEED_FILE', 'NATS_CREDS', 'NATS_TLS_KEY_FILE'] as const;

describe('property: configuration never echoes a secret', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('problems name variables and paths, not values', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(GatewayConfig, ControllerConfig, HealthConfig),
        fc.dictionary(fc.constantFrom(...DIRECT), secret, { maxKeys: 3 }),
        fc.dictionary(fc.constantFrom(...FROM_FILE), secret, { maxKeys: 3 }),
        fc.option(fc.constantFrom('x', '-1', 'nats://a b', 'http://h'), { nil: undefined }),
        (schema, direct, fromFile, junk) => {
          const env: Record<string, string> = { ...direct };
          for (const [key, value] of Object.entries(fromFile)) env[key] = fileWith(`${value}\n`);
          if (junk !== undefined) env.NATS_URL = junk;
          const loaded = loadConfig(schema, env);
          const secrets = [...Object.values(direct), ...Object.values(fromFile)];
          const text = loaded.ok ? '' : loaded.problems.join('\n');
          for (const s of secrets) assert.ok(!text.includes(s), `problem echoes a secret: ${text}`);
          if (loaded.ok) {
            const lines: string[] = [];
            const log = createLogger('t', 'info', new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }));
            log.info({ config: loaded.config }, 'config');
            log.info(loaded.config as Record<string, unknown>, 'flat');
            for (const s of secrets) assert.ok(!lines.join('').includes(JSON.stringify(s).slice(1, -1)), `secret logged: ${lines.join('')}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
