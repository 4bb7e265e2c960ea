/**
 * Sends typed ARI commands to the gateway of a node as NATS requests and unwraps the reply
 * envelope: resolves with the result or rejects with a CommandError carrying the error code.
 */
import {
  ErrorCode, Reply, subjects,
  type CommandName, type CommandParams, type CommandResult,
} from '@avb/contracts';
import { ErrorCode as NatsErrorCode, type NatsConnection, type NatsError } from 'nats';
import { CommandError } from './command-error.js';

export interface AriCommands {
  send<N extends CommandName>(node: string, command: N, params: CommandParams<N>): Promise<CommandResult<N>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createAriCommands(nc: NatsConnection, app: string, timeoutMs: number): AriCommands {
  return {
    async send(node, command, params) {
      const subject = subjects.ariCommand(app, node, command);
      let data: Uint8Array;
      try {
        const msg = await nc.request(subject, encoder.encode(JSON.stringify(params)), { timeout: timeoutMs });
        data = msg.data;
      } catch (err) {
        throw fromNatsError(err, node);
      }
      let reply: Reply;
      try {
        reply = Reply.parse(JSON.parse(decoder.decode(data)));
      } catch (cause) {
        throw new CommandError(ErrorCode.Internal, `malformed reply to ${command}`, undefined, { cause });
      }
      if (!reply.ok) throw new CommandError(reply.error.code, reply.error.message, reply.error.status);
      // The gateway validated the command; the result is ARI's JSON for that command.
      return reply.result as CommandResult<typeof command>;
    },
  };
}

function fromNatsError(err: unknown, node: string): CommandError {
  const code = (err as NatsError | undefined)?.code;
  if (code === NatsErrorCode.NoResponders) {
    return new CommandError(ErrorCode.AriUnavailable, `no ari-gateway serves node ${node}`, undefined, { cause: err });
  }
  if (code === NatsErrorCode.Timeout) {
    return new CommandError(ErrorCode.Timeout, `no reply from the ari-gateway of node ${node} in time`, undefined, { cause: err });
  }
  return new CommandError(ErrorCode.AriUnavailable, `NATS request failed: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
}
