/**
 * A channel's events of one flush tick, shared by reference with every member's send queue.
 *
 * Fan-out by one push per recipient per message costs members × messages; at a thousand
 * members that is millions of pushes a second. Instead, the first event of a tick opens a
 * stream and every member's queue gets one reference to it ("from event 0, to the end");
 * later events of the tick are appended to the stream alone. At the flush, the stream
 * encodes its events once per encoding variant into one buffer, and each queue's reference
 * becomes a view of that same buffer — so the common case costs O(members) per tick, not
 * O(members × messages), and no bytes are copied per member.
 *
 * A member whose own stream differs gets views of the parts that are its own: its queue's
 * reference is closed where something else enters the queue (a private message, a reply,
 * another channel's event) and reopened at the stream's next event, so every member still
 * receives everything in the order it happened; a sender without echo-message has its
 * reference closed before its own line and reopened after it.
 *
 * @module
 */
import type { ChatEvent } from "./chat_event.ts";
import type { Flusher, SendQueue } from "./send_queue.ts";

/** Encodes an event for an encoding variant; the same variant must always give the same bytes. */
export type EventEncoder = (event: ChatEvent, variant: number) => Uint8Array;

interface Encoded {
  /** Events encoded. */
  count: number;
  bytes: Uint8Array;
  /** Where each event starts in `bytes`, and one more: the end. */
  offsets: number[];
}

/**
 * One channel's events during one tick of a {@link Flusher}. The hub appends; send queues
 * hold references and turn them into bytes at the flush.
 *
 * @example Two queues share one encoding of a channel's tick
 * ```ts
 * import { ChannelStream } from "./channel_stream.ts";
 * import { createEvent } from "./chat_event.ts";
 * import { Flusher, SendQueue } from "./send_queue.ts";
 *
 * const seen: Uint8Array[] = [];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     seen.push(...chunks);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const encode = (event: { text: string }) => new TextEncoder().encode(`${event.text}\r\n`);
 * const flusher = new Flusher(0);
 * const queues = [1, 2].map(() => new SendQueue(connection, { flusher, limit: 1024, encode }));
 * const stream = new ChannelStream(flusher);
 * for (const queue of queues) stream.follow(queue);
 * for (const text of ["one", "two"]) {
 *   stream.append(createEvent({ kind: "privmsg", source: "a!a@h", target: "#c", text }));
 * }
 * flusher.flush();
 * console.log(new TextDecoder().decode(seen[0])); // "one\r\ntwo\r\n"
 * console.log(seen[0].buffer === seen[1].buffer); // true: one buffer for both
 * ```
 */
export class ChannelStream {
  /** The events, in order. */
  readonly events: ChatEvent[] = [];
  readonly #flusher: Flusher;
  readonly #tick: number;
  /** Following queues whose queue does not end with an open reference to this stream. */
  #detached = new Set<SendQueue>();
  #encoded: (Encoded | undefined)[] = [];

  /** @param flusher The flusher whose current tick the stream belongs to. */
  constructor(flusher: Flusher) {
    this.#flusher = flusher;
    this.#tick = flusher.tick;
    // The tick ends even if no queue follows, so events never pile up in an endless stream.
    flusher.schedule();
  }

  /** Whether events may still be appended: the tick it was opened in has not been flushed. */
  get open(): boolean {
    return this.#flusher.tick === this.#tick;
  }

  /**
   * Makes a queue receive the events appended from now on.
   *
   * @param queue A member's queue.
   */
  follow(queue: SendQueue): void {
    this.#detached.add(queue);
  }

  /**
   * Stops a queue receiving events appended from now on (its member left the channel).
   *
   * @param queue The queue.
   */
  unfollow(queue: SendQueue): void {
    queue.detach(this);
    this.#detached.delete(queue);
  }

  /**
   * Called by a following queue whose reference to this stream was closed because something
   * else entered it: it gets a new reference at the next event.
   *
   * @param queue The queue.
   */
  lost(queue: SendQueue): void {
    if (this.open) this.#detached.add(queue);
  }

  /**
   * Appends an event for every following queue, but `except`.
   *
   * @param event The event.
   * @param except A following queue that must not get this event (a sender without echo).
   */
  append(event: ChatEvent, except?: SendQueue): void {
    const index = this.events.length;
    except?.detach(this);
    this.events.push(event);
    for (const queue of this.#detached) if (queue !== except) queue.attach(this, index);
    this.#detached.clear();
    if (except) this.#detached.add(except);
  }

  /**
   * The bytes of events `from` to `to` (exclusive) for a variant: a view of one buffer that
   * holds every event of the stream, encoded once per variant.
   *
   * @param variant The encoding variant.
   * @param encode The encoder.
   * @param from The first event's index.
   * @param to One past the last event's index.
   * @returns The bytes, shared.
   */
  bytes(variant: number, encode: EventEncoder, from: number, to: number): Uint8Array {
    const events = this.events;
    let encoded = this.#encoded[variant];
    // Encoded early (a queue drained mid-tick) and appended to since: encode again.
    if (encoded === undefined || encoded.count !== events.length) {
      encoded = encodeAll(events, variant, encode);
      this.#encoded[variant] = encoded;
    }
    const { bytes, offsets } = encoded;
    return from === 0 && to === events.length ? bytes : bytes.subarray(offsets[from], offsets[to]);
  }
}

function encodeAll(events: ChatEvent[], variant: number, encode: EventEncoder): Encoded {
  const offsets = [0];
  if (events.length === 1) {
    const bytes = encode(events[0], variant);
    offsets.push(bytes.length);
    return { count: 1, bytes, offsets };
  }
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const event of events) {
    const part = encode(event, variant);
    parts.push(part);
    length += part.length;
    offsets.push(length);
  }
  const bytes = new Uint8Array(length);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i], offsets[i]);
  return { count: events.length, bytes, offsets };
}
