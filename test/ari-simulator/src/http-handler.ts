// One HTTP request end to end: auth, parameters (query, or a JSON body of the same names),
// injected faults and latency, routing, the reply, the request log, then post-reply events.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AUTH_REQUIRED_BODY, isAuthorized, type Credentials } from './auth.js';
import { pushCapped } from './capped-log.js';
import type { FaultRules } from './fault-rules.js';
import { routeRest, type RestResult } from './rest-routes.js';
import { INTERNAL_MESSAGE, notFound, SimError } from './sim-error.js';
import type { SimState } from './sim-state.js';
import type { RequestLogEntry } from './types.js';

export interface HttpContext {
  state: SimState;
  creds: Credentials;
  faults: FaultRules;
  requests: RequestLogEntry[];
  logLimit: number;
  latencyMs: () => number;
}

export function splitUrl(url: string): { rawPath: string; search: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0
    ? { rawPath: url, search: new URLSearchParams() }
    : { rawPath: url.slice(0, q), search: new URLSearchParams(url.slice(q + 1)) };
}

/** Path segments after `/ari`, each percent-decoded once; undefined when not an ARI path. */
function ariSegments(rawPath: string): string[] | undefined {
  const parts = rawPath.split('/');
  if (parts[0] !== '' || parts[1] !== 'ari') return undefined;
  try {
    return parts.slice(2).filter((p) => p !== '').map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Query parameters win; a JSON object body fills in the names the query lacks. */
function mergeBody(params: Record<string, string>, body: string): void {
  if (body.trim() === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
  for (const [key, value] of Object.entries(parsed)) {
    if (key in params) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') params[key] = String(value);
  }
}

function send(res: ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string>): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status, extraHeaders);
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

export async function handleRequest(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = performance.now();
  const method = req.method ?? 'GET';
  const { rawPath, search } = splitUrl(req.url ?? '/');
  const query = Object.fromEntries(search);
  const log = (status: number) =>
    pushCapped(ctx.requests, { method, path: rawPath, query, status, at: performance.now(), receivedAt }, ctx.logLimit);
  let result: RestResult;
  try {
    const body = await readBody(req);
    if (!isAuthorized(req, search, ctx.creds)) {
      send(res, 401, AUTH_REQUIRED_BODY, { 'www-authenticate': 'Basic realm="Asterisk REST Interface"' });
      log(401);
      return;
    }
    const params: Record<string, string> = { ...query };
    delete params.api_key;
    mergeBody(params, body);
    const fault = ctx.faults.take(method, rawPath);
    const latency = ctx.latencyMs() + (fault?.delayMs ?? 0);
    if (latency > 0) await sleep(latency);
    if (fault !== undefined) {
      result = { status: fault.status, body: fault.body };
    } else {
      const segments = ariSegments(rawPath);
      if (segments === undefined) throw notFound.resource();
      result = await routeRest(ctx.state, method, segments, params);
    }
  } catch (err) {
    result =
      err instanceof SimError
        ? { status: err.status, body: { message: err.message } }
        : { status: 500, body: { message: INTERNAL_MESSAGE } };
  }
  // Destroyed: the client went away, or the request crashed the simulated Asterisk.
  if (res.destroyed || req.socket.destroyed) {
    log(result.status);
    result.after?.();
    return;
  }
  send(res, result.status, result.body);
  log(result.status);
  result.after?.();
}
