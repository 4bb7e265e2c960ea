/**
 * chan_websocket media for the end-to-end tests: the WebSocket echo media server beside the whole
 * stack, the controller set to server or client mode, and in server mode what a media server
 * does in production: take `media_ready` off NATS and connect to its URL. Each call's connection
 * can be made at once, late or never, as a test decides.
 */
import { WebSocketEcho, EchoConnectError, type SimulatorOptions } from '@avb/ari-simulator';
import { CallEvent, subjects } from '@avb/contracts';
import type { NatsConnection, Subscription } from 'nats';
import type { ServiceProcess } from './services.js';
import { APP, startStack, type Stack, type StackOptions } from './stack.js';

/** The websocket_client.conf id the simulator dials the echo server with (client mode). */
export const CLIENT_ID = 'media_echo';

export type ConnectPlan = 'now' | 'never' | { delayMs: number };

export interface MediaConnector {
  /** Every media_ready seen, in order. */
  readonly ready: CallEvent[];
  /** How each session's connection went: open, refused with a status, or failed otherwise. */
  readonly outcomes: Map<string, 'open' | number | 'error'>;
  /** How the next calls are connected (default: at once). */
  plan(decide: (event: CallEvent) => ConnectPlan): void;
  stop(): void;
}

const decoder = new TextDecoder();

/** Connects the echo server to every media_ready's URL, as the plan says. */
export function connectOnMediaReady(nc: NatsConnection, echo: WebSocketEcho): MediaConnector {
  const ready: CallEvent[] = [];
  const outcomes = new Map<string, 'open' | number | 'error'>();
  const timers = new Set<NodeJS.Timeout>();
  let decide: (event: CallEvent) => ConnectPlan = () => 'now';
  const dial = (event: CallEvent) => {
    echo.connect(event.media!.url!).then(
      () => outcomes.set(event.sessionId, 'open'),
      (err: unknown) => outcomes.set(event.sessionId, err instanceof EchoConnectError && err.status !== undefined ? err.status : 'error'),
    );
  };
  const sub: Subscription = nc.subscribe(subjects.callEvent(APP, '*', 'media_ready'), {
    callback: (err, msg) => {
      if (err) return;
      const event = CallEvent.parse(JSON.parse(decoder.decode(msg.data)));
      ready.push(event);
      const plan = decide(event);
      if (plan === 'never') return;
      if (plan === 'now') return dial(event);
      const t = setTimeout(() => {
        timers.delete(t);
        dial(event);
      }, plan.delayMs);
      timers.add(t);
    },
  });
  return {
    ready,
    outcomes,
    plan: (fn) => void (decide = fn),
    stop: () => {
      sub.unsubscribe();
      for (const t of timers) clearTimeout(t);
    },
  };
}

export interface WebSocketStack {
  stack: Stack;
  echo: WebSocketEcho;
  controller: ServiceProcess;
  /** Server mode only. */
  connector: MediaConnector | undefined;
  /** The controller's env (for another controller, or a restart). */
  controllerEnv: Record<string, string>;
  stop(): Promise<void>;
}

export interface WebSocketStackOptions {
  mode: 'server' | 'client';
  controllerEnv?: Record<string, string>;
  simOptions?: SimulatorOptions;
  stack?: StackOptions;
}

/** The whole stack with chan_websocket media and the echo server; one controller in that mode. */
export async function startWebSocketStack(opts: WebSocketStackOptions): Promise<WebSocketStack> {
  const echo = await WebSocketEcho.start({ host: '127.0.0.1', port: 0 });
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      ...opts.stack,
      controllers: 0,
      simOptions: { websocketClients: { [CLIENT_ID]: { uri: echo.url } }, ...opts.simOptions },
    });
    const mode = opts.mode === 'server'
      ? { EXTERNAL_MEDIA_CONNECTION: 'server', EXTERNAL_MEDIA_WEBSOCKET_URL: `ws://127.0.0.1:${stack.sim.port}/media` }
      : { EXTERNAL_MEDIA_CONNECTION: 'client', EXTERNAL_MEDIA_WEBSOCKET_CLIENT: CLIENT_ID };
    const controllerEnv = { EXTERNAL_MEDIA_TRANSPORT: 'websocket', ...mode, ...opts.controllerEnv };
    const connector = opts.mode === 'server' ? connectOnMediaReady(stack.nc, echo) : undefined;
    const controller = await stack.startController(controllerEnv);
    const s = stack;
    const ws: WebSocketStack = {
      stack: s, echo, controller, connector, controllerEnv,
      async stop() {
        connector?.stop();
        await s.stop();
        await ws.echo.stop(); // a test may have replaced it (restarted on its port)
      },
    };
    return ws;
  } catch (err) {
    await stack?.stop();
    await echo.stop();
    throw err;
  }
}
