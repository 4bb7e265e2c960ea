/**
 * Identifiers that end up in an ARI URL path or a NATS subject. Validation here is what keeps
 * a hostile payload from reaching another ARI path: an id can never be `.`, `..` or contain `/`,
 * `%`, `?` or `#`, so after URL-encoding it is always exactly one path segment.
 */
import { z } from 'zod';

/**
 * An ARI channel or bridge id: Asterisk's own (`1795478615.15`), a UUID, or a client-chosen id.
 * Starts with a letter or digit, then letters, digits, `.`, `_`, `-`, `:` or `@`; at most 128.
 */
export const AriId = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'must start with a letter or digit and contain only A-Z a-z 0-9 . _ - : @');
export type AriId = z.infer<typeof AriId>;

/** One NATS subject token: an ARI application name, a node name, an event type. */
export const SubjectToken = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only A-Z a-z 0-9 _ -');
export type SubjectToken = z.infer<typeof SubjectToken>;

/** `host:port` as ARI's externalMedia wants it in `external_host`. */
export const HostPort = z
  .string()
  .max(255)
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$/, 'must be host:port');
export type HostPort = z.infer<typeof HostPort>;

/** Turns any string into a subject-safe token (used for ARI_NODE defaults). */
export function toSubjectToken(raw: string): string {
  const token = raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return token.length > 0 ? token : 'default';
}
