/** Recognises a JetStream KV compare-and-set that lost: a create on an existing key, or an update
 * (or delete) with a stale revision. Anything else (a timeout, no JetStream) is a real error. */
const WRONG_LAST_SEQUENCE = 10071;

export function isKvConflict(err: unknown): boolean {
  const e = err as { message?: string; api_error?: { err_code?: number } } | undefined;
  return e?.api_error?.err_code === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test(e?.message ?? '');
}
