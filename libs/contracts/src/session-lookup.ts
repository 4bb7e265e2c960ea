/**
 * Session lookup: a request on `call.session.<app>.<sessionId>` (empty body) is answered by one
 * controller with the call's details, so a media server can learn who it talks to from the UUID
 * it received in the AudioSocket handshake. The reply is the usual envelope: `{ ok: true, result:
 * SessionInfo }` or `{ ok: false, error: { code: 'not_found' | 'bad_request' | ... } }`.
 */
import type { z } from 'zod';
import { CallState } from './call-state.js';

export const SessionInfo = CallState.omit({ owner: true, updatedAt: true });
export type SessionInfo = z.infer<typeof SessionInfo>;
