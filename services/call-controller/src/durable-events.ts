/**
 * Reads the Stasis events through the durable consumers every controller instance shares (see
 * ensureCallConsumers): each event goes to one live instance; one not acked in time (the
 * instance died) goes to another; events stored while no controller ran arrive when one starts.
 * Handlers ack through the Delivery they get, only once the event's effect is recorded.
 */
import { StasisEnd, StasisStart, parseEventSubject } from '@avb/contracts';
import { consumerName, type ConsumedEventType, type Logger } from '@avb/runtime';
import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
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

export async function consumeCallEvents(
  js: JetStreamClient,
  opts: { stream: string; app: string; decode: EventDecoder; handlers: DurableHandlers; log: Logger },
): Promise<DurableEvents> {
  const { decode, handlers, log } = opts;
  let acceptStarts = true;

  const consume = async (type: ConsumedEventType, handle: (node: string, msg: JsMsg) => void): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(opts.stream, consumerName(opts.app, type));
    return consumer.consume({
      max_messages: PULL_AHEAD,
      callback: (msg) => {
        const node = parseEventSubject(msg.subject)?.node;
        if (!node) return msg.term();
        try {
          handle(node, msg);
        } catch (err) {
          log.error({ err, subject: msg.subject }, 'event handler failed');
          msg.nak(1000);
        }
      },
    });
  };

  const starts = await consume('StasisStart', (node, msg) => {
    if (!acceptStarts) return msg.nak();
    const event = decode(msg.subject, msg.data, StasisStart);
    if (!event) return msg.term();
    handlers.onStasisStart(node, event, msg, performance.now());
  });
  const ends = await consume('StasisEnd', (node, msg) => {
    const event = decode(msg.subject, msg.data, StasisEnd);
    if (!event) return msg.term();
    handlers.onStasisEnd(node, event, msg);
  });

  const stopStarts = async () => {
    if (!acceptStarts) return;
    acceptStarts = false;
    await new Promise((r) => setTimeout(r, HAND_BACK_MS));
    await starts.close();
  };
  return {
    stopStarts,
    async stop() {
      await stopStarts();
      await ends.close();
    },
  };
}
