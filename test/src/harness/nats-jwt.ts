/**
 * Throwaway decentralized-auth material for one test: an operator, an account and a user, with
 * their JWTs signed by nkeys, a nats-server config that trusts them (memory resolver) and the
 * user's `.creds` file text. Only what nats-server checks is filled in.
 */
import { randomBytes } from 'node:crypto';
import { nkeys } from 'nats';

type KeyPair = ReturnType<typeof nkeys.createUser>;

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

function signJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = {
    jti: randomBytes(20).toString('hex').toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  const payload = b64url(JSON.stringify(claims));
  const signature = issuer.sign(new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${b64url(signature)}`;
}

export interface TestOperator {
  /** nats-server config text: operator, memory resolver with the account preloaded. */
  serverConfig: string;
  /** A `.creds` file for a new user of the account. */
  userCreds(name: string): { creds: string; seed: string };
}

export function makeTestOperator(): TestOperator {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const unlimited = { subs: -1, data: -1, payload: -1 };
  // JetStream in operator mode needs a system account.
  const system = nkeys.createAccount();
  const operatorJwt = signJwt(operator, operator.getPublicKey(), 'avb-test-operator', { type: 'operator', system_account: system.getPublicKey() });
  const systemJwt = signJwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 } });
  const accountJwt = signJwt(operator, account.getPublicKey(), 'avb-test-account', {
    type: 'account',
    // JetStream on for the account (the services keep events, call state and leases in it).
    limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
    default_permissions: { pub: {}, sub: {} },
  });
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      'resolver: MEMORY',
      `system_account: ${system.getPublicKey()}`,
      `resolver_preload: { ${account.getPublicKey()}: ${accountJwt}, ${system.getPublicKey()}: ${systemJwt} }`,
      '',
    ].join('\n'),
    userCreds(name) {
      const user = nkeys.createUser();
      const jwt = signJwt(account, user.getPublicKey(), name, { type: 'user', pub: {}, sub: {}, ...unlimited });
      const seed = new TextDecoder().decode(user.getSeed());
      const creds = [
        '-----BEGIN NATS USER JWT-----', jwt, '------END NATS USER JWT------', '',
        '-----BEGIN USER NKEY SEED-----', seed, '------END USER NKEY SEED------', '',
      ].join('\n');
      return { creds, seed };
    },
  };
}
