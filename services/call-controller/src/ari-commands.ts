/**
 * Sends typed ARI commands to the gateway of a node as NATS requests and unwraps the reply
 * envelope: resolves with the result or rejects with a CommandError carrying the error code.
 */
import {
  ErrorCode, GatewayReconnected, Reply, decodeJson, subjects,
  type CommandName, type CommandParams, type CommandResult,
} from '@avb/contracts';
import type { NatsConnection } from 'nats';
import { CommandError } from './command-error.js';
import { createRequestMux, type RequestOutcome } from './request-mux.js';

export interface AriCommands {
  send<N extends CommandName>(node: string, command: N, params: CommandParams<N>): Promise<CommandResult<N>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface AriCommandOptions {
  /** Per request: ARI's own timeout plus a margin, so the gateway's `timeout` reply wins. */
  timeoutMs: number;
  /**
   * When no gateway serves the node (no responders: a gateway restarting, a standby taking
   * over), the request is retried for this long before it fails with `ari_unavailable`. Nothing
   * reached ARI, so a retry never does anything twice.
   */
  noRespondersRetryMs: number;
}

const NO_RESPONDERS_RETRY_STEP_MS = 250;
/**
 * After a NATS connection on the way (ours, or the gateway's: it says so) was lost and is back,
 * what was in flight then gets this long for its reply, not the whole timeout: its request or
 * reply may be gone, and the call machine tries again (or looks up what it asked for) on a
 * timeout. Long enough for replies written while the connection was away (nats.js sends them on
 * reconnect) and for ARI's answers to the burst that follows. Measured in cluster.test.ts: a
 * command lost with a gateway's connection held its caller 12 s (ARI_HTTP_TIMEOUT 10 s + 2).
 */
export const RECONNECT_GRACE_MS = 2000;

export function createAriCommands(nc: NatsConnection, app: string, opts: AriCommandOptions): AriCommands {
  const mux = createRequestMux(nc);
  nc.subscribe(subjects.gatewayReconnected(app), {
    callback: (err, msg) => {
      const notice = err ? undefined : decodeJson(GatewayReconnected, msg.data);
      // A malformed one is ignored: a notice can only shorten waits.
      if (notice) mux.hurry(RECONNECT_GRACE_MS, notice.node);
    },
  });
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') mux.hurry(RECONNECT_GRACE_MS);
  })();
  const request = async (subject: string, payload: Uint8Array, node: string): Promise<Uint8Array> => {
    const deadline = Date.now() + opts.noRespondersRetryMs;
    for (;;) {
      const outcome = await mux.request(subject, payload, opts.timeoutMs, node);
      if (outcome.ok) return outcome.data;
      const left = deadline - Date.now();
      if (outcome.reason !== 'no_responders' || left <= 0) throw failure(outcome.reason, node);
      await new Promise((r) => setTimeout(r, Math.min(NO_RESPONDERS_RETRY_STEP_MS, left)));
    }
  };
  return {
    async send(node, command, params) {
      const subject = subjects.ariCommand(app, node, command);
      const data = await request(subject, encoder.encode(JSON.stringify(params)), node);
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

function failure(reason: Exclude<RequestOutcome, { ok: true }>['reason'], node: string): CommandError {
  switch (reason) {
    case 'no_responders': return new CommandError(ErrorCode.AriUnavailable, `no ari-gateway serves node ${node}`);
    case 'timeout': return new CommandError(ErrorCode.Timeout, `no reply from the ari-gateway of node ${node} in time`);
    case 'closed': return new CommandError(ErrorCode.AriUnavailable, 'NATS connection closed');
  }
}
