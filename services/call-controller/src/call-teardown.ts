/**
 * Removes what a call created: hangs up the media channel, destroys the bridge and, when asked,
 * hangs up the caller or sends it on in the dialplan. "Not found" counts as done; a timeout or an
 * unreachable ARI is retried a few times before giving up (and the failure is logged with what
 * may be left behind; reconciliation removes it later).
 */
import { ErrorCode } from '@avb/contracts';
import { isCommandError } from './command-error.js';
import type { CallContext, CallIds } from './call-plan.js';

/** What happens to the caller: hung up, continued in the dialplan, or left alone (already gone). */
export type CallerAction = 'hangup' | 'continue' | 'none';

export interface TeardownPlan {
  hangupMedia: boolean;
  caller: CallerAction;
}

const RETRY_DELAYS_MS = [100, 500, 2000] as const;

export async function tearDownCall(ctx: CallContext, ids: CallIds, plan: TeardownPlan): Promise<boolean> {
  const { commands } = ctx;
  const steps: Array<[string, () => Promise<unknown>]> = [];
  if (plan.hangupMedia) steps.push(['media', () => commands.send(ids.node, 'channels.hangup', { channelId: ids.externalChannelId })]);
  steps.push(['bridge', () => commands.send(ids.node, 'bridges.destroy', { bridgeId: ids.bridgeId })]);
  if (plan.caller === 'hangup') steps.push(['caller', () => commands.send(ids.node, 'channels.hangup', { channelId: ids.channelId })]);
  if (plan.caller === 'continue') steps.push(['caller', () => commands.send(ids.node, 'channels.continue', { channelId: ids.channelId })]);

  const results = await Promise.all(steps.map(([what, run]) => withRetry(run).then(
    () => true,
    (err: unknown) => {
      ctx.log.error({ err, what }, 'teardown step failed; the resource may be left in Asterisk');
      return false;
    },
  )));
  return results.every(Boolean);
}

async function withRetry(run: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await run();
      return;
    } catch (err) {
      if (isCommandError(err, ErrorCode.NotFound)) return;
      const retriable = isCommandError(err, ErrorCode.Timeout, ErrorCode.AriUnavailable);
      const delay = RETRY_DELAYS_MS[attempt];
      if (!retriable || delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
