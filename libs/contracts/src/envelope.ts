/** The reply envelope every command request gets. */
import { z } from 'zod';
import { ERROR_CODES } from './error-codes.js';

export const ErrorBody = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** The ARI HTTP status, when ARI answered. */
  status: z.number().int().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ReplyOk = z.strictObject({ ok: z.literal(true), result: z.unknown() });
export const ReplyError = z.strictObject({ ok: z.literal(false), error: ErrorBody });
export const Reply = z.discriminatedUnion('ok', [ReplyOk, ReplyError]);
export type Reply = z.infer<typeof Reply>;
export type ReplyOf<T> = { ok: true; result: T } | { ok: false; error: ErrorBody };
