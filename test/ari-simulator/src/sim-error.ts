// The one failure type of the REST layer: an HTTP status plus Asterisk's `{ message }` body.

export class SimError extends Error {
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimError';
    this.status = status;
  }
}

/** Asterisk's body for every 500 (connect refused, bad UUID, duplicate id, bad format). */
export const INTERNAL_MESSAGE = 'An internal error prevented this request from being handled';

export const notFound = {
  channel: () => new SimError(404, 'Channel not found'),
  bridge: () => new SimError(404, 'Bridge not found'),
  resource: () => new SimError(404, 'Resource not found'),
} as const;
