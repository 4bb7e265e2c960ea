/**
 * ARI REST over ofetch: one request per command, no retries (commands are not idempotent), and
 * every failure mapped to a reply error code. Credentials live only in the Authorization header
 * built here; neither they nor the raw error objects ever leave this module.
 */
import { ErrorCode, type ErrorBody } from '@avb/contracts';
import { FetchError, ofetch } from 'ofetch';
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

export function codeForStatus(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? ErrorCode.AriError;
}

export function createAriHttp({ baseUrl, authorization, timeoutMs }: AriHttpOptions): AriHttp {
  const api = ofetch.create({
    baseURL: baseUrl,
    timeout: timeoutMs,
    retry: 0,
    headers: { Authorization: authorization, Accept: 'application/json' },
  });

  return {
    async request(route) {
      try {
        const response = await api.raw<unknown>(route.path, { method: route.method, query: route.query });
        // 204 (and any empty body) is `null`, so every reply has a `result`.
        return { ok: true, status: response.status, result: response._data ?? null };
      } catch (err) {
        return toFailure(err, timeoutMs);
      }
    },
  };
}

function toFailure(err: unknown, timeoutMs: number): AriOutcome {
  if (!(err instanceof FetchError)) {
    return { ok: false, error: { code: ErrorCode.Internal, message: 'unexpected failure calling ARI' }, cause: err };
  }
  const status = err.status;
  if (status !== undefined) {
    return { ok: false, error: { code: codeForStatus(status), message: ariMessage(err.data, status), status } };
  }
  const cause: unknown = err.cause;
  if (cause instanceof Error && cause.name === 'TimeoutError') {
    return { ok: false, error: { code: ErrorCode.Timeout, message: `ARI did not answer within ${timeoutMs} ms` } };
  }
  return { ok: false, error: { code: ErrorCode.AriUnavailable, message: `ARI unreachable${networkCode(cause)}` } };
}

/** ARI's own `message` (e.g. "Channel not found") when its body has one. */
function ariMessage(body: unknown, status: number): string {
  if (body !== null && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message.slice(0, 500);
  }
  return `ARI answered ${status}`;
}

/** `(ECONNREFUSED)` from undici's "fetch failed" TypeError, whose cause is the socket error. */
function networkCode(cause: unknown): string {
  const inner: unknown = cause instanceof Error ? cause.cause : undefined;
  const code: unknown = inner !== null && typeof inner === 'object' && 'code' in inner ? inner.code : undefined;
  return typeof code === 'string' ? ` (${code})` : '';
}
