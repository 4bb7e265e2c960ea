/**
 * Reads the Stasis events through the durable consumers every controller instance shares (see
 * ensureCallConsumers): each event goes to one live instance; one not acked in time (the
 * instance died) goes to another; events stored while no controller ran arrive when one starts.
 * Handlers ack through the Delivery they get, only once the event's effect is recorded.
 */
import { StasisEnd, StasisStart, parseEventSubject } from '@avb/contracts';
import { consumerName, type ConsumedEventType, type Logger } from '@avb/runtime';
import { ConsumerEvents, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
import type { Delivery } from './call-actor.js';
import type { EventDecoder } from './event-decoder.js';

export interface DurableHandlers {
  onStasisStart(node: string, event: StasisStart, delivery: Delivery, receivedAt: number): void;
  onStasisEnd(node: string, event: StasisEnd, delivery: Delivery): void;
}

export interface DurableEvents {
  /** Stops taking new callers; unhandled ones are redelivered to other instances. */
  stopStarts(): Promise<void>;
  stop(): Promise<void>;
}

/** Messages pulled ahead per consumer: enough for bursts, few enough to hand back on shutdown. */
const PULL_AHEAD = 256;
/**
 * On shutdown new callers are handed back (nak) for this long before the subscription closes:
 * messages already on their way to us are handed back too instead of waiting out the ack wait.
 */
const HAND_BACK_MS = 250;
/** At most one attempt to recreate missing consumers per this interval. */
const RECREATE_INTERVAL_MS = 2000;
const PULL_EXPIRES_MS = 10_000;

export async function consumeCallEvents(
  js: JetStreamClient,
  opts: {
    stream: string;
    app: string;
    decode: EventDecoder;
    handlers: DurableHandlers;
    /** Makes sure the stream's consumers exist again (someone deleted them, or the stream). */
    recreate(): Promise<void>;
    log: Logger;
  },
): Promise<DurableEvents> {
  const { decode, handlers, log } = opts;
  let acceptStarts = true;

  const starts = await keepConsuming(js, opts, 'StasisStart', (node, msg) => {
    if (!acceptStarts) return msg.nak();
    const event = decode(msg.subject, msg.data, StasisStart);
    if (!event) return msg.term();
    handlers.onStasisStart(node, event, msg, performance.now());
  });
  const ends = await keepConsuming(js, opts, 'StasisEnd', (node, msg) => {
    const event = decode(msg.subject, msg.data, StasisEnd);
    if (!event) return msg.term();
    handlers.onStasisEnd(node, event, msg);
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
 * Consumes one durable consumer for as long as we run: when the consumption ends by itself (the
 * consumer or the stream was deleted, NATS came back without them) the consumers are created
 * again and consumption restarts. Resolves once the first consumption has started.
 */
async function keepConsuming(
  js: JetStreamClient,
  opts: { stream: string; app: string; recreate(): Promise<void>; log: Logger },
  type: ConsumedEventType,
  handle: (node: string, msg: JsMsg) => void,
): Promise<{ stop(): Promise<void> }> {
  const log = opts.log.child({ consumer: consumerName(opts.app, type) });
  let stopped = false;
  let current: ConsumerMessages | undefined;

  const start = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(opts.stream, consumerName(opts.app, type));
    const messages = await consumer.consume({
      max_messages: PULL_AHEAD,
      // Pull requests are renewed this often (heartbeats at half): a stalled pull is noticed soon.
      expires: PULL_EXPIRES_MS,
      callback: (msg) => {
        const node = parseEventSubject(msg.subject)?.node;
        if (!node) return msg.term();
        try {
          handle(node, msg);
        } catch (err) {
          log.error({ err, subject: msg.subject }, 'event handler failed');
          msg.nak(RECREATE_INTERVAL_MS);
        }
      },
    });
    void (async () => {
      for await (const s of await messages.status()) {
        if (s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound || s.type === ConsumerEvents.ConsumerDeleted) {
          // Ends this consumption; the loop below creates the consumers again and restarts it.
          log.warn({ status: s.type }, 'event consumer missing');
          messages.stop();
          return;
        }
      }
    })();
    return messages;
  };

  current = await start();
  void (async () => {
    while (!stopped) {
      const ended = await current?.closed();
      if (stopped) return;
      log.warn({ err: ended instanceof Error ? ended : undefined }, 'event consumption stopped; restarting it');
      current = undefined;
      while (!stopped && !current) {
        await new Promise((r) => setTimeout(r, RECREATE_INTERVAL_MS));
        await opts.recreate().catch(() => undefined);
        current = await start().catch((err: unknown) => {
          log.warn({ err }, 'cannot consume events yet');
          return undefined;
        });
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      await current?.close();
    },
  };
}
