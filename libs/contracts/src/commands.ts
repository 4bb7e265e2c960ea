/**
 * The ARI command catalogue: every command the gateway executes, with its params (named exactly
 * as ARI names them, unknown fields rejected) and its result. Only these commands exist; there is
 * no generic "call any ARI URL" path.
 */
import { z } from 'zod';
import { Bridge, Channel } from './ari-models.js';
import { AriId, HostPort, SubjectToken } from './ids.js';
import { WebSocketClientId } from './media-config.js';

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
      /** host:port; with transport=websocket `INCOMING` (server mode, or left out) or a websocket_client id. */
      external_host: z.union([HostPort, z.literal('INCOMING'), WebSocketClientId]).optional(),
      encapsulation: z.enum(['rtp', 'audiosocket', 'none']).optional(),
      transport: z.enum(['udp', 'tcp', 'websocket']).optional(),
      connection_type: z.enum(['client', 'server']).optional(),
      format: z.string().min(1).max(32).regex(/^[a-z0-9_]+$/),
      direction: z.literal('both').optional(),
      data: z.string().min(1).max(255).regex(/^[\x20-\x7e]+$/).optional(),
      // No transport_data: a control format other than plain or json in it (`f(xml)`) crashes
      // Asterisk 22.10.1 (samples-22.10.1/websocket-media/server-mode/crash-bad-control-format.json).
    }).superRefine(checkExternalMediaTarget),
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

/**
 * What external_host must be for the transport, as Asterisk checks it (refused here so the reason
 * is ours, not a 400 from deep in ARI): host:port except with chan_websocket, which takes
 * `INCOMING` (server mode) or a websocket_client id (client mode) and only encapsulation `none`.
 */
function checkExternalMediaTarget(
  p: { external_host?: string | undefined; encapsulation?: string | undefined; transport?: string | undefined; connection_type?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const host = p.external_host;
  if (p.transport !== 'websocket') {
    if (host === undefined || !HostPort.safeParse(host).success) problem('external_host', 'must be host:port (other than with transport=websocket)');
    if (p.encapsulation === 'none') problem('encapsulation', "'none' goes with transport=websocket");
    if (p.connection_type === 'server') problem('connection_type', "'server' goes with transport=websocket");
    return;
  }
  if (p.encapsulation !== 'none') problem('encapsulation', "must be 'none' with transport=websocket");
  if (p.connection_type === 'server') {
    if (host !== undefined && host !== 'INCOMING') problem('external_host', "must be INCOMING (or left out) with connection_type=server");
  } else if (host === undefined || host === 'INCOMING' || HostPort.safeParse(host).success) {
    problem('external_host', 'must be a websocket_client id with connection_type=client');
  }
}

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
