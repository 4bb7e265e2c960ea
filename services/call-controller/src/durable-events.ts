/**
 * Reads the Stasis events through the durable consumers every controller instance shares (see
 * ensureCallConsumers): each event goes to one live instance; one not acked in time (the
 * instance died) goes to another; events stored while no controller ran arrive when one starts.
 * Handlers settle each message through the Delivery they get, once its effect is recorded.
 * A consumption that ends by itself (consumer or stream deleted, NATS back without them) is
 * started again after the consumers are made sure of.
 */
import { StasisEnd, StasisStart, jetStreamNames, parseEventSubject, type ConsumedEventType } from '@avb/contracts';
import { reasonOf, type Logger } from '@avb/runtime';
import { ConsumerEvents, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
import type { Delivery } from './call-actor.js';
import type { EventDecoder } from './event-decoder.js';

export interface DurableHandlers {
  /** `seq`: the message's stream sequence (orders a channel's StasisStart and StasisEnd). */
  onStasisStart(node: string, event: StasisStart, delivery: Delivery, seq: number, receivedAt: number): void;
  onStasisEnd(node: string, event: StasisEnd, delivery: Delivery, seq: number): void;
}

export interface DurableEvents {
  /** Stops taking new callers; unhandled ones are redelivered to other instances. */
  stopStarts(): Promise<void>;
  stop(): Promise<void>;
}

export interface DurableEventsOptions {
  stream: string;
  app: string;
  decode: EventDecoder;
  handlers: DurableHandlers;
  /** Makes sure the stream's consumers exist again (someone deleted them, or the stream). */
  recreate(): Promise<void>;
  log: Logger;
  /** Pause between attempts to consume again after a consumption ended (default 2 s). */
  restartDelayMs?: number;
}

/** Messages pulled ahead per consumer: enough for bursts, few enough to hand back on shutdown. */
const PULL_AHEAD = 256;
/**
 * On shutdown new callers are handed back (nak) for this long before the subscription closes:
 * messages already on their way to us are handed back too instead of waiting out the ack wait.
 */
const HAND_BACK_MS = 250;
const RESTART_DELAY_MS = 2000;
/** Pull requests are renewed this often (heartbeats at half): a stalled pull is noticed soon. */
const PULL_EXPIRES_MS = 10_000;

export async function consumeCallEvents(js: JetStreamClient, opts: DurableEventsOptions): Promise<DurableEvents> {
  const { decode, handlers } = opts;
  let acceptStarts = true;

  const starts = await keepConsuming(js, opts, 'StasisStart', (node, msg) => {
    if (!acceptStarts) return msg.nak();
    const event = decode(msg.subject, msg.data, StasisStart);
    if (!event) return msg.term();
    handlers.onStasisStart(node, event, msg, msg.seq, performance.now());
  });
  const ends = await keepConsuming(js, opts, 'StasisEnd', (node, msg) => {
    const event = decode(msg.subject, msg.data, StasisEnd);
    if (!event) return msg.term();
    handlers.onStasisEnd(node, event, msg, msg.seq);
  });

  const stopStarts = async () => {
    if (!acceptStarts) return;
    acceptStarts = false;
    await new Promise((r) => setTimeout(r, HAND_BACK_MS));
    await starts.stop();
  };
  return {
    stopStarts,
    async stop() {
      await stopStarts();
      await ends.stop();
    },
  };
}

/**
 * Consumes one durable consumer for as long as we run. Resolves once the first consumption has
 * started; `stop()` closes whatever consumption is open or being opened at that moment.
 */
export async function keepConsuming(
  js: JetStreamClient,
  opts: Pick<DurableEventsOptions, 'stream' | 'app' | 'recreate' | 'log' | 'restartDelayMs'>,
  type: ConsumedEventType,
  handle: (node: string, msg: JsMsg) => void,
): Promise<{ stop(): Promise<void> }> {
  const name = jetStreamNames.callConsumer(opts.app, type);
  const log = opts.log.child({ consumer: name });
  let stopped = false;
  let current: ConsumerMessages | undefined;
  let wake: (() => void) | undefined;

  const start = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(opts.stream, name);
    const messages = await consumer.consume({
      max_messages: PULL_AHEAD,
      expires: PULL_EXPIRES_MS,
      callback: (msg) => {
        const node = parseEventSubject(msg.subject)?.node;
        if (!node) return msg.term();
        try {
          handle(node, msg);
        } catch (err) {
          log.error({ err, subject: msg.subject }, 'event handler failed');
          msg.nak(RESTART_DELAY_MS);
        }
      },
    });
    void (async () => {
      for await (const s of await messages.status()) {
        if (s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound || s.type === ConsumerEvents.ConsumerDeleted) {
          log.info({ status: s.type }, 'event consumer missing; it is made again');
          messages.stop(); // ends this consumption: the loop below starts another
          return;
        }
      }
    })();
    return messages;
  };

  /** Opens a consumption unless stop() came first (then it is closed again at once). */
  const open = async (): Promise<ConsumerMessages | undefined> => {
    const messages = await start();
    if (stopped) {
      await messages.close().catch(() => undefined);
      return undefined;
    }
    return messages;
  };

  current = await open();
  void (async () => {
    while (!stopped) {
      await current?.closed();
      if (stopped) return;
      current = undefined;
      while (!stopped && !current) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, opts.restartDelayMs ?? RESTART_DELAY_MS);
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        wake = undefined;
        if (stopped) return;
        await opts.recreate().catch(() => undefined);
        current = await open().catch((err: unknown) => {
          log.info({ reason: reasonOf(err) }, 'cannot consume events yet; retrying');
          return undefined;
        });
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await current?.close().catch(() => undefined);
    },
  };
}
