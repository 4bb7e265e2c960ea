/**
 * Sets a call up in two sequential ARI round trips:
 *   1. in parallel: answer the caller, create the bridge (id chosen up front), create the
 *      externalMedia channel (id and session UUID chosen up front), and wait for that channel's
 *      own StasisStart (adding it earlier fails with 422 on a real Asterisk);
 *   2. one addChannel with both channels.
 * The answer creates nothing, so it goes out while the call state is still being written; the
 * bridge and the media channel wait until it is (`recorded`), so every resource is in the state
 * before it exists.
 * Every request of a step is settled before the outcome is known, so teardown never races a
 * create that is still in flight.
 */
import { bridgeName } from '@avb/contracts';
import { CommandError } from './command-error.js';
import type { CallContext, CallIds } from './call-plan.js';

export type SetupStep = 'answer' | 'bridge' | 'media' | 'media_stasis' | 'add_channels';

export type SetupOutcome =
  | { ok: true }
  | { ok: false; aborted: true }
  | { ok: false; aborted: false; step: SetupStep; error: Error };

export async function setUpCall(ctx: CallContext, ids: CallIds, signal: AbortSignal, recorded: Promise<boolean>): Promise<SetupOutcome> {
  const { commands, media, registry } = ctx;
  const answering = commands.send(ids.node, 'channels.answer', { channelId: ids.channelId });
  if (!(await recorded)) {
    await answering.catch(() => undefined);
    return { ok: false, aborted: true };
  }
  const mediaInStasis = registry.waitForMedia(ids.node, ids.externalChannelId, media.stasisTimeoutMs, signal);
  // Observed before the first await so an early rejection is never unhandled.
  const mediaResult = mediaInStasis.then(() => undefined, (err: unknown) => toError(err));

  const [answer, bridge, external] = await Promise.allSettled([
    answering,
    commands.send(ids.node, 'bridges.create', { bridgeId: ids.bridgeId, type: 'mixing', name: bridgeName(ids.app, ids.sessionId) }),
    commands.send(ids.node, 'channels.externalMedia', {
      channelId: ids.externalChannelId,
      external_host: media.externalHost,
      format: media.format,
      encapsulation: media.encapsulation,
      transport: media.transport,
      data: ids.sessionId,
    }),
  ]);
  if (signal.aborted) return { ok: false, aborted: true };
  if (answer.status === 'rejected') return failed('answer', answer.reason);
  if (bridge.status === 'rejected') return failed('bridge', bridge.reason);
  if (external.status === 'rejected') return failed('media', external.reason);

  const mediaError = await mediaResult;
  if (signal.aborted) return { ok: false, aborted: true };
  if (mediaError) return failed('media_stasis', mediaError);

  try {
    await commands.send(ids.node, 'bridges.addChannel', {
      bridgeId: ids.bridgeId,
      channel: [ids.channelId, ids.externalChannelId],
    });
  } catch (err) {
    if (signal.aborted) return { ok: false, aborted: true };
    return failed('add_channels', err);
  }
  return signal.aborted ? { ok: false, aborted: true } : { ok: true };
}

function failed(step: SetupStep, reason: unknown): SetupOutcome {
  return { ok: false, aborted: false, step, error: toError(reason) };
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** `setup_failed:<step>:<code>` for call events and logs. */
export function failureCause(step: SetupStep, error: Error): string {
  return `setup_failed:${step}:${error instanceof CommandError ? error.code : 'internal'}`;
}
