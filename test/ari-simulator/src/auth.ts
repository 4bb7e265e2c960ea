// ARI credentials: HTTP basic auth or `?api_key=user:pass`, as Asterisk accepts both.

import type { IncomingMessage } from 'node:http';

export interface Credentials {
  username: string;
  password: string;
}

export const AUTH_REQUIRED_BODY = JSON.stringify({ message: 'Authentication required' });

export function isAuthorized(req: IncomingMessage, query: URLSearchParams, creds: Credentials): boolean {
  const expected = `${creds.username}:${creds.password}`;
  const apiKey = query.get('api_key');
  if (apiKey !== null) return apiKey === expected;
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith('Basic ')) return false;
  return Buffer.from(header.slice(6), 'base64').toString('utf8') === expected;
}
