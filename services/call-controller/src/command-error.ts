/** A failed ARI command, as the gateway (or the bus) reported it. */
import type { ErrorCode } from '@avb/contracts';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isCommandError = (err: unknown, ...codes: ErrorCode[]): err is CommandError =>
  err instanceof CommandError && (codes.length === 0 || codes.includes(err.code));
