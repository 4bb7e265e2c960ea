/**
 * ARI REST over node:http with a keep-alive agent: one request per command, no retries (commands
 * are not idempotent), and every failure mapped to a reply error code. Credentials live only in
 * the Authorization header built here; neither they nor the raw error objects ever leave this
 * module.
 *
 * Why not ofetch (fetch/undici): profiled at 300 calls/s, the fetch stack (Request/Headers
 * objects, AbortSignal per request, web streams for the body, ofetch's option merging and URL
 * building) was about a third of the gateway's CPU, its largest single cost. A plain
 * http.request does the same exchange for a fraction of it.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ErrorCode, type ErrorBody } from '@avb/contracts';
import type { AriRoute } from './command-routes.js';

export type AriOutcome =
  | { ok: true; result: unknown; status: number }
  /** `cause` is for the log only (set for `internal`), never for a reply. */
  | { ok: false; error: ErrorBody; cause?: unknown };

export interface AriHttp {
  request(route: AriRoute): Promise<AriOutcome>;
}

export interface AriHttpOptions {
  baseUrl: string;
  authorization: string;
  timeoutMs: number;
}

/** ARI status -> reply code; any other error status is `ari_error`. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: ErrorCode.BadRequest,
  404: ErrorCode.NotFound,
  409: ErrorCode.Conflict,
  412: ErrorCode.Conflict,
  422: ErrorCode.Conflict,
  502: ErrorCode.AriUnavailable,
  503: ErrorCode.AriUnavailable,
  504: ErrorCode.AriUnavailable,
};

/** Concurrent ARI connections: far above what setup needs (6 requests per call, a few ms each). */
const MAX_CONNECTIONS = 64;

export function codeForStatus(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? ErrorCode.AriError;
}

export function createAriHttp({ baseUrl, authorization, timeoutMs }: AriHttpOptions): AriHttp {
  const base = new URL(baseUrl);
  const secure = base.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  // Connections are reused across commands. Capped: when the gateway stalls (GC, a busy
  // machine), requests queue for a connection instead of opening hundreds at once.
  const pool = { keepAlive: true, maxSockets: MAX_CONNECTIONS, maxFreeSockets: MAX_CONNECTIONS };
  const agent = secure ? new HttpsAgent(pool) : new HttpAgent(pool);
  const prefix = base.pathname.replace(/\/+$/, '');
  const headers = { Authorization: authorization, Accept: 'application/json' };
  const target = { protocol: base.protocol, hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, agent, headers };

  return {
    request(route) {
      return new Promise<AriOutcome>((resolve) => {
        let timedOut = false;
        const fail = (err: unknown) => {
          clearTimeout(timer);
          resolve(timedOut ? timeout(timeoutMs) : toFailure(err));
        };
        let req: ReturnType<typeof send>;
        try {
          req = send({ ...target, method: route.method, path: `${prefix}${route.path}${queryString(route.query)}` }, (res) => {
            readBody(res).then(
              (body) => {
                clearTimeout(timer);
                resolve(toOutcome(res, body));
              },
              fail,
            );
          });
        } catch (err) {
          // Refused before anything was sent (e.g. an invalid header): ours, not ARI's.
          return resolve(toFailure(err));
        }
        const timer = setTimeout(() => {
          timedOut = true;
          req.destroy();
          resolve(timeout(timeoutMs));
        }, timeoutMs);
        req.once('error', fail);
        req.end();
      });
    },
  };
}

/** ARI reads params from the query string; each key and value is percent-encoded. */
function queryString(query: Record<string, string>): string {
  let qs = '';
  for (const key in query) qs += `${qs === '' ? '?' : '&'}${encodeURIComponent(key)}=${encodeURIComponent(query[key]!)}`;
  return qs;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => resolve(chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** JSON when ARI says so (an empty body, e.g. a 204, is `null`); other text as it came. */
function parseBody(res: IncomingMessage, text: string): unknown {
  if (text === '') return null;
  if (!(res.headers['content-type'] ?? '').includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toOutcome(res: IncomingMessage, text: string): AriOutcome {
  const status = res.statusCode ?? 0;
  const body = parseBody(res, text);
  if (status >= 200 && status < 300) return { ok: true, status, result: body };
  return { ok: false, error: { code: codeForStatus(status), message: ariMessage(body, status), status } };
}

function timeout(timeoutMs: number): AriOutcome {
  return { ok: false, error: { code: ErrorCode.Timeout, message: `ARI did not answer within ${timeoutMs} ms` } };
}

/** Errors of the connection itself: ARI is down, restarting or unreachable (retrying may help). */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH',
  'ENETDOWN', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
]);

/**
 * A network error means ARI is unreachable (`ari_unavailable`, which teardown retries); an answer
 * that is not HTTP (parser errors, `HPE_*`) is a broken ARI (`ari_error`); anything else, e.g. a
 * header we could not even send (`ERR_INVALID_CHAR`), is ours (`internal`, cause logged).
 */
export function toFailure(err: unknown): AriOutcome {
  const code: unknown = err !== null && typeof err === 'object' && 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && NETWORK_ERRORS.has(code)) {
    return { ok: false, error: { code: ErrorCode.AriUnavailable, message: `ARI unreachable (${code})` } };
  }
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return { ok: false, error: { code: ErrorCode.AriError, message: `ARI answered something that is not HTTP (${code})` } };
  }
  return { ok: false, error: { code: ErrorCode.Internal, message: 'unexpected failure calling ARI' }, cause: err };
}

/** ARI's own `message` (e.g. "Channel not found") when its body has one. */
function ariMessage(body: unknown, status: number): string {
  if (body !== null && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message.slice(0, 500);
  }
  return `ARI answered ${status}`;
}
