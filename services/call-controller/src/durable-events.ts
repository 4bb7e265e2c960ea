/**
 * Reads the Stasis events through the durable consumers every controller instance shares (see
 * ensureCallConsumers): each event goes to one live instance; one not acked in time (the
 * instance died) goes to another; events stored while no controller ran arrive when one starts.
 * Handlers settle each message through the Delivery they get, once its effect is recorded.
 * A consumption that ends by itself (consumer or stream deleted, NATS back without them) is
 * started again after the consumers are made sure of.
 */
import { StasisEnd, StasisStart, jetStreamNames, parseEventSubject, type ConsumedEventType } from '@avb/contracts';
import { reasonOf, settlesWithin, type Logger } from '@avb/runtime';
import { ConsumerEvents, type ConsumerMessages, type JetStreamClient, type JsMsg, type Subscription } from 'nats';
import type { Delivery } from './call-actor.js';
import type { EventDecoder } from './event-decoder.js';

export interface DurableHandlers {
  /**
   * `seq`: the message's stream sequence (orders a channel's StasisStart and StasisEnd);
   * `storedAgoMs`: how long ago the stream stored it (by this host's clock and the server's).
   */
  onStasisStart(node: string, event: StasisStart, delivery: Delivery, seq: number, receivedAt: number, storedAgoMs: number): void;
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

/**
 * Messages asked for at a time per consumer (a new pull goes out once a quarter of them came).
 * Small on purpose: the server serves the oldest pull request first, so one instance's pull of
 * 256 took every event while the others' waited behind it (two controllers at 2 calls/s: 48
 * and 2); with small ones the instances' requests take turns. 16, not fewer: a busy event loop
 * answers its pulls late, and 16 still drain ~8000 events/s where 8 drained ~5000 (and 256
 * ~16000), against the ~2000/s per consumer of 1000 calls/s.
 */
const PULL_BATCH = 16;
const RESTART_DELAY_MS = 2000;
/** Longest wait for the server's answer when a consumption closes (NATS may be away). */
const DRAIN_MS = 2000;
/**
 * Pull requests are renewed this often. Shorter ones (3 s) made the instances' shares uneven at a
 * low call rate (40/10 of 50 at 2 calls/s, controller-failover.test.ts; 31/19 at 10 s): a pull
 * that expires before it is filled goes to the back of the server's queue.
 */
const PULL_EXPIRES_MS = 10_000;
/**
 * The server's heartbeat on an idle pull. A pull lives on the consumer's leader only: when the
 * leader changes (a server killed or restarted) the pulls it held are gone without a word, and
 * nats.js pulls again after two missed heartbeats. nats.js's default (half the expiry, 5 s) kept
 * StasisStarts unread 10 s after a consumer leader moved (cluster.test.ts); at 1.5 s, 3 s.
 */
const PULL_HEARTBEAT_MS = 1500;

export async function consumeCallEvents(js: JetStreamClient, opts: DurableEventsOptions): Promise<DurableEvents> {
  const { decode, handlers } = opts;
  let acceptStarts = true;

  // Both consumers live in one stream: when one is found missing (the stream deleted, NATS back
  // empty) the other has often gone too, and its consumption may not hear of it before its pull
  // expires (seen: StasisEnds unread for 10 s after the stream was deleted). So it is looked at,
  // and started again at once if its consumer went as well.
  const consumptions = new Map<ConsumedEventType, Consumption>();
  const missing = (type: ConsumedEventType) => {
    for (const [other, c] of consumptions) if (other !== type) c.restart();
  };
  const starts = await keepConsuming(js, opts, 'StasisStart', (node, msg) => {
    if (!acceptStarts) return msg.nak();
    const event = decode(msg.subject, msg.data, StasisStart);
    if (!event) return msg.term();
    handlers.onStasisStart(node, event, msg, msg.seq, performance.now(), Math.max(0, Date.now() - msg.info.timestampNanos / 1e6));
  }, missing);
  consumptions.set('StasisStart', starts);
  const ends = await keepConsuming(js, opts, 'StasisEnd', (node, msg) => {
    const event = decode(msg.subject, msg.data, StasisEnd);
    if (!event) return msg.term();
    handlers.onStasisEnd(node, event, msg, msg.seq);
  }, missing);
  consumptions.set('StasisEnd', ends);

  // New callers are handed back (nak) from now on, and the consumption closes at once: those
  // already on their way are handed back by the close (closeDrained). Consuming on while handing
  // back sent them straight back here, over and over: 33 of 33 used up their 20 deliveries in
  // 250 ms (jetstream-parts.test.ts).
  const stopStarts = async () => {
    if (!acceptStarts) return;
    acceptStarts = false;
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

export interface Consumption {
  stop(): Promise<void>;
  /** Ends the open consumption if its consumer is gone: another is opened after the restart delay. */
  restart(): void;
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
  /** Told when this consumption found its consumer or stream missing. */
  onMissing?: (type: ConsumedEventType) => void,
): Promise<Consumption> {
  const name = jetStreamNames.callConsumer(opts.app, type);
  const log = opts.log.child({ consumer: name });
  let stopped = false;
  let current: ConsumerMessages | undefined;
  /** When the consumer being consumed was made: one made again since is another consumer. */
  let consumerCreated: string | undefined;
  let wake: (() => void) | undefined;
  const createdNow = () => js.consumers.get(opts.stream, name).then(async (c) => (await c.info(true)).created, () => undefined);

  const start = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(opts.stream, name);
    consumerCreated = (await consumer.info(true)).created;
    const messages = await consumer.consume({
      max_messages: PULL_BATCH,
      expires: PULL_EXPIRES_MS,
      idle_heartbeat: PULL_HEARTBEAT_MS,
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
          onMissing?.(type);
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
      await closeDrained(messages);
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
      if (current) await closeDrained(current);
    },
    restart() {
      const open = current;
      if (stopped || !open) return;
      // Only if this consumer went too (the stream was deleted), not when just the other did:
      // it is missing, or made again since (its pull was lost with the one it replaced).
      const was = consumerCreated;
      void createdNow().then((created) => {
        if (stopped || current !== open || created === was) return;
        log.info('the other event consumer was missing, and so is this one: consuming again');
        open.stop();
      });
    },
  };
}

/**
 * Closes a consumption once what the server sent it before the close has been handled. nats.js's
 * close() unsubscribes at once and drops what arrives after, sent to a pull request still open:
 * neither acked nor handed back, it waits the whole ack wait (a StasisStart at a controller's
 * SIGTERM: a caller in silence; 9 of ~240 in jetstream-parts.test.ts, 2 runs of 3). So
 * the consumption stops asking for more, and its subscription is drained (unsubscribe, then a
 * round trip to the server): what comes meanwhile reaches the handler, which naks it.
 */
async function closeDrained(messages: ConsumerMessages): Promise<void> {
  // nats.js 2.29 keeps these on the consumption (`refilling`: a new pull goes out as messages
  // come); without them, a plain close.
  const internals = messages as unknown as { sub?: Subscription; refilling?: boolean };
  const sub = internals.sub;
  if (sub && !sub.isClosed() && typeof internals.refilling === 'boolean') {
    internals.refilling = false;
    await settlesWithin(sub.drain(), DRAIN_MS);
  }
  await messages.close().catch(() => undefined);
}
