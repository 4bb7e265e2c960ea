/** Wire bytes to a message of the contracts: undefined when they are not JSON or not that message. */
import type { z } from 'zod';

const decoder = new TextDecoder();

export function decodeJson<S extends z.ZodType>(schema: S, data: Uint8Array): z.output<S> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
