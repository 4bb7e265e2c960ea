/** The fixed set of error codes every reply on the bus uses. */
export const ErrorCode = {
  /** The params failed validation, or ARI answered 400. */
  BadRequest: 'bad_request',
  /** The channel or bridge does not exist (ARI 404). */
  NotFound: 'not_found',
  /** The resource is in the wrong state for this command (ARI 409, 412, 422). */
  Conflict: 'conflict',
  /** ARI did not answer within ARI_HTTP_TIMEOUT (or the bus request timed out). */
  Timeout: 'timeout',
  /** ARI (or the gateway for that node) could not be reached at all. */
  AriUnavailable: 'ari_unavailable',
  /** ARI answered with another error status (5xx, 501, 401, ...). */
  AriError: 'ari_error',
  /** A bug or an unexpected failure inside our own code; the cause is logged where it happened. */
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];
