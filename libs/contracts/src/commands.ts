/**
 * The ARI command catalogue: every command the gateway executes, with its params (named exactly
 * as ARI names them, unknown fields rejected) and its result. Only these commands exist; there is
 * no generic "call any ARI URL" path.
 */
import { z } from 'zod';
import { Bridge, Channel } from './ari-models.js';
import { AriId, HostPort, SubjectToken } from './ids.js';

const HangupReason = z.enum([
  'normal', 'busy', 'congestion', 'no_answer', 'timeout', 'rejected', 'unallocated',
  'normal_unspecified', 'number_incomplete', 'codec_mismatch', 'interworking', 'failure',
  'answered_elsewhere',
]);
const BridgeType = z
  .string()
  .max(100)
  .regex(/^(mixing|holding|dtmf_events|proxy_media|video_sfu|video_single)(,(mixing|holding|dtmf_events|proxy_media|video_sfu|video_single))*$/);
/** One channel id, or several (ARI takes a comma-separated list). */
const ChannelList = z.union([AriId, z.array(AriId).min(1).max(16)]);
const DialplanToken = z.string().min(1).max(80).regex(/^[A-Za-z0-9_+*#.-]+$/);
const Nothing = z.null();

export const Commands = {
  'channels.list': { params: z.strictObject({}), result: z.array(Channel) },
  'channels.get': { params: z.strictObject({ channelId: AriId }), result: Channel },
  'channels.answer': { params: z.strictObject({ channelId: AriId }), result: Nothing },
  'channels.hangup': {
    params: z.strictObject({ channelId: AriId, reason: HangupReason.optional() }),
    result: Nothing,
  },
  'channels.continue': {
    params: z.strictObject({
      channelId: AriId,
      context: DialplanToken.optional(),
      extension: DialplanToken.optional(),
      priority: z.number().int().min(1).max(100000).optional(),
      label: DialplanToken.optional(),
    }),
    result: Nothing,
  },
  'channels.externalMedia': {
    params: z.strictObject({
      channelId: AriId.optional(),
      /** Defaults to the gateway's own ARI_APP; any other app is refused. */
      app: SubjectToken.optional(),
      external_host: HostPort,
      encapsulation: z.enum(['rtp', 'audiosocket']).optional(),
      transport: z.enum(['udp', 'tcp']).optional(),
      connection_type: z.literal('client').optional(),
      format: z.string().min(1).max(32).regex(/^[a-z0-9_]+$/),
      direction: z.literal('both').optional(),
      data: z.string().min(1).max(255).regex(/^[\x20-\x7e]+$/).optional(),
    }),
    result: Channel,
  },
  'bridges.list': { params: z.strictObject({}), result: z.array(Bridge) },
  'bridges.get': { params: z.strictObject({ bridgeId: AriId }), result: Bridge },
  'bridges.create': {
    params: z.strictObject({
      bridgeId: AriId.optional(),
      type: BridgeType.optional(),
      name: z.string().max(128).regex(/^[\x20-\x7e]*$/).optional(),
    }),
    result: Bridge,
  },
  'bridges.destroy': { params: z.strictObject({ bridgeId: AriId }), result: Nothing },
  'bridges.addChannel': {
    params: z.strictObject({
      bridgeId: AriId,
      channel: ChannelList,
      role: z.string().max(32).regex(/^[A-Za-z0-9_-]+$/).optional(),
      absorbDTMF: z.boolean().optional(),
      mute: z.boolean().optional(),
      inhibitConnectedLineUpdates: z.boolean().optional(),
    }),
    result: Nothing,
  },
  'bridges.removeChannel': {
    params: z.strictObject({ bridgeId: AriId, channel: ChannelList }),
    result: Nothing,
  },
} as const;

export type Commands = typeof Commands;
export type CommandName = keyof Commands;
/** What a caller may send (optional fields may be left out). */
export type CommandParams<N extends CommandName> = z.input<Commands[N]['params']>;
/** What the gateway has validated. */
export type ValidCommandParams<N extends CommandName> = z.output<Commands[N]['params']>;
export type CommandResult<N extends CommandName> = z.output<Commands[N]['result']>;

export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(Commands, value);
}

/** Largest command payload the gateway accepts, in bytes. */
export const MAX_COMMAND_BYTES = 8 * 1024;
