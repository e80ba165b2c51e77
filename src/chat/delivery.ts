// Over 600 lines: three classes that keep one invariant together (see the module doc), and
// almost half of it is documentation and runnable examples.
/**
 * Delivery: how events reach clients' sockets — the heart of fan-out. Three classes that
 * only work together, so they live together:
 *
 * - {@link Flusher}: one per server; once per tick it runs its `beforeFlush` hooks (the hub
 *   commits history and hands over the committed messages), ends the tick, and writes every
 *   queue that has something to send, one buffer each.
 * - {@link SendQueue}: one per client, bounded ("SendQ exceeded"), at most one write in
 *   flight; a client's write is never awaited on anyone else's path, and a client that does
 *   not read only fills its own queue.
 * - {@link ChannelStream}: one per channel per tick: the tick's events, encoded once per
 *   encoding variant and shared by reference with every member's queue.
 *
 * Delivering a message to a thousand clients must not mean a thousand socket writes per
 * message (each is a system call and a promise), nor a thousand queue pushes: the first event
 * of a tick opens the channel's stream and every member's queue gets one reference to it
 * ("from event 0, to the end"); later events of the tick are appended to the stream alone. At
 * the flush the stream encodes its events once per variant into one buffer and each
 * reference becomes a view of it — O(members) per tick, not O(members × messages), and no
 * bytes copied per member.
 *
 * **The invariant the three keep:** a queue holds at most one *open* reference (one still
 * growing with its stream), and it is the last item of the queue. Whenever anything else
 * enters the queue (a private message, a reply, another channel's event), the open reference
 * is closed at the stream's current end and the queue tells the stream (`lost`); the stream
 * keeps the following queues that hold no open reference to it and gives each a new one at
 * its next event. So every member receives everything in the order it happened, and a
 * sender without echo-message has its reference closed before its own line and reopened
 * after it. Once the tick is flushed the stream is closed (`open` is false) and takes no
 * more events; the hub opens a new one at the channel's next event.
 *
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import { type ChatEvent, isLost } from "./chat_event.ts";
import type { Connection } from "./connection.ts";

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
 * import assert from "node:assert/strict";
 * import { ChannelStream, Flusher, SendQueue } from "./delivery.ts";
 * import { createEvent } from "./chat_event.ts";
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
 * assert.equal(seen.length, 2);
 * assert.equal(new TextDecoder().decode(seen[0]), "one\r\ntwo\r\n");
 * assert.equal(seen[1], seen[0], "one buffer for both queues");
 * assert.ok(!stream.open, "a flushed stream takes no more events");
 * ```
 */
export class ChannelStream {
  readonly #events: ChatEvent[] = [];
  readonly #flusher: Flusher;
  readonly #tick: number;
  /** Following queues whose queue does not end with an open reference to this stream. */
  #detached = new Set<SendQueue>();
  #encoded: (Encoded | undefined)[] = [];

  /**
   * Opens a stream for the flusher's current tick, and makes sure that tick ends.
   *
   * @param flusher The flusher whose current tick the stream belongs to.
   */
  constructor(flusher: Flusher) {
    this.#flusher = flusher;
    this.#tick = flusher.tick;
    // The tick ends even if no queue follows, so events never pile up in an endless stream.
    flusher.schedule();
  }

  /** How many events the stream holds: the index the next one gets. */
  get end(): number {
    return this.#events.length;
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
    const index = this.#events.length;
    except?.detach(this);
    this.#events.push(event);
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
    const events = this.#events;
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

const NOTHING = new Uint8Array(0);

function encodeAll(events: ChatEvent[], variant: number, encode: EventEncoder): Encoded {
  const offsets = [0];
  if (events.length === 1) {
    const bytes = isLost(events[0]) ? NOTHING : encode(events[0], variant);
    offsets.push(bytes.length);
    return { count: 1, bytes, offsets };
  }
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const event of events) {
    // A message its commit lost keeps its index but takes no bytes: nobody sees it.
    const part = isLost(event) ? NOTHING : encode(event, variant);
    parts.push(part);
    length += part.length;
    offsets.push(length);
  }
  const bytes = new Uint8Array(length);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i], offsets[i]);
  return { count: events.length, bytes, offsets };
}

/** The longest a busy server lets deliveries gather. */
const MAX_DELAY_MS = 20;
/**
 * A busy server waits this many times as long as its last flush took before the next. A
 * flush's own time is only the start of each write: the write's completion, the kernel's
 * loopback delivery and the readers' wake-ups cost several times more. Measured at 1000
 * clients × 1–3 msg/s (docs/benchmarks.md): a factor of 2 kept the server at 97 % CPU with
 * p99 75–95 ms, 8 at about 60 % with p99 under 50 ms.
 */
const DELAY_PER_FLUSH_TIME = 8;
/**
 * Shorter waits are not worth a timer: Deno's timers fire about 2 ms late (measured:
 * `setTimeout(f, 0)` takes 2.1 ms, `setImmediate` 2 µs), so such a flush runs at once.
 */
const TIMER_THRESHOLD_MS = 2;

/**
 * Flushes every queue that has something to send, once per tick. One per server.
 *
 * An idle server flushes as soon as the input at hand has been handled (the next
 * macrotask), so a lone message goes out in well under a millisecond; under load the next
 * flush waits eight times as long as the last one took (at least `intervalMs`, at most
 * 20 ms), so the more clients each flush writes to, the more lines each write carries.
 *
 * @example Flush a queue into an in-memory connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { Flusher, SendQueue } from "./delivery.ts";
 *
 * const written: string[] = [];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     written.push(...chunks.map((c) => new TextDecoder().decode(c)));
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const flusher = new Flusher(1);
 * const queue = new SendQueue(connection, { flusher, limit: 1024 });
 * queue.push(new TextEncoder().encode("PING :x\r\n"));
 * await queue.drained();
 * assert.deepEqual(written, ["PING :x\r\n"]);
 * assert.equal(queue.size, 0);
 * ```
 */
export class Flusher {
  #tick = 0;
  #pending = new Set<SendQueue>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #intervalMs: number;
  #delayMs = 0;
  #lastEnd = -Infinity;
  #flushing = false;
  /** Something asked for a tick while a flush ran: run another after it. */
  #again = false;
  #beforeFlush: (() => void)[] = [];
  readonly #run = () => this.flush();

  /**
   * Makes a flusher with nothing pending.
   *
   * @param intervalMs The least time between the end of one flush and the start of the
   *   next; 0 lets an idle server write each message at once.
   */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Counts flushes: a {@link ChannelStream} takes events only in the tick it was opened in. */
  get tick(): number {
    return this.#tick;
  }

  /**
   * Runs `hook` at the start of every flush, before the tick ends and any queue is written:
   * what it hands to queues is written by that same flush. The hub commits history there and
   * only then fans the committed messages out, so no client is shown a message that is not
   * on disk. A hook must not throw.
   *
   * @param hook Called once per flush.
   */
  beforeFlush(hook: () => void): void {
    this.#beforeFlush.push(hook);
  }

  /**
   * Marks a queue as having something to send; it is flushed at the next tick.
   *
   * @param queue The queue; none only makes sure the next tick comes (it ends a stream, or
   *   runs the `beforeFlush` hooks).
   */
  schedule(queue?: SendQueue): void {
    if (queue) this.#pending.add(queue);
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined || this.#immediate !== undefined) return;
    const wait = this.#lastEnd + Math.max(this.#intervalMs, this.#delayMs) - performance.now();
    if (wait < TIMER_THRESHOLD_MS) this.#immediate = setImmediate(this.#run);
    else this.#timer = setTimeout(this.#run, wait);
  }

  /**
   * Runs the `beforeFlush` hooks now, without ending the tick or writing anything: what is
   * waiting for its commit is committed (or dropped) before a queue writes out of turn (a
   * client closing mid-tick drains its queue at once).
   */
  settle(): void {
    for (const hook of this.#beforeFlush) hook();
  }

  /** Flushes every pending queue now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#flushing = true;
    try {
      for (const hook of this.#beforeFlush) hook();
      // What the hooks handed to queues is taken by this flush.
      this.#again = false;
      this.#tick++;
      const pending = this.#pending;
      this.#pending = new Set();
      // Timed without the hooks: the commit is one per flush, whatever the number of clients.
      const start = performance.now();
      for (const queue of pending) queue.flush();
      this.#lastEnd = performance.now();
      this.#delayMs = Math.min(MAX_DELAY_MS, DELAY_PER_FLUSH_TIME * (this.#lastEnd - start));
    } finally {
      this.#flushing = false;
    }
    // What was handed to queues while they were being written (a client dropped mid-flush
    // quits its channels) goes at the next tick.
    if (this.#again) this.schedule();
  }

  /** Forgets a closed queue. */
  forget(queue: SendQueue): void {
    this.#pending.delete(queue);
  }
}

/** Options for {@link SendQueue}. */
export interface SendQueueOptions {
  /** The server's flusher. */
  flusher: Flusher;
  /**
   * The most bytes of other people's traffic queued or in flight before the client counts as
   * stuck. Replies to the client's own commands do not count (see {@link SendQueue.push}).
   */
  limit: number;
  /**
   * Called once when the queue passes `limit`: what was waiting is dropped and only a
   * `"last"` line is still taken (the ERROR that says why).
   */
  onOverflow?: () => void;
  /** Encodes channel events for this queue's connection. @default {a queue that follows no channel} */
  encode?: EventEncoder;
}

/**
 * What a line pushed to a {@link SendQueue} is:
 * - `event`: other people's traffic (a message, a join); counts against the limit.
 * - `reply`: an answer to the client's own command (a `LIST` of 300 channels, a `WHO` of
 *   1500 members, a history batch). It never overflows the queue: the client asked for it, and
 *   its reader reads no further command while the queue is over the limit (see
 *   {@link SendQueue.belowLimit}), so at most one reply is ever over it.
 * - `last`: the final line before the connection closes (`ERROR`); taken even after an overflow.
 */
export type PushKind = "event" | "reply" | "last";

/**
 * An encoded event whose commit to history is pending: written only if the commit keeps it
 * (see `ChatEvent.commit`).
 */
interface PendingLine {
  bytes: Uint8Array;
  event: ChatEvent;
}

/** A reference to events of a channel stream; `to` is -1 while the queue follows it. */
interface StreamSlice {
  stream: ChannelStream;
  from: number;
  to: number;
  variant: number;
}

/**
 * A bounded queue of encoded lines and channel-stream references for one connection, with
 * at most one write in flight.
 *
 * @example A client that does not read is cut off at its limit, and still told why
 * ```ts
 * import assert from "node:assert/strict";
 * import { Flusher, SendQueue } from "./delivery.ts";
 *
 * const written: string[] = [];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     written.push(...chunks.map((c) => new TextDecoder().decode(c)));
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * let overflows = 0;
 * const queue = new SendQueue(connection, {
 *   flusher: new Flusher(0),
 *   limit: 12,
 *   onOverflow: () => overflows++,
 * });
 * const line = (text: string) => new TextEncoder().encode(`${text}\r\n`);
 * assert.ok(queue.push(line("event one")));
 * assert.ok(queue.push(line("a reply, however long"), "reply"), "replies never overflow");
 * assert.ok(!queue.push(line("event two")));
 * assert.ok(queue.overflowed);
 * assert.equal(overflows, 1);
 * assert.ok(queue.push(line("ERROR :SendQ exceeded"), "last"));
 * await queue.drained();
 * assert.deepEqual(written, ["ERROR :SendQ exceeded\r\n"]);
 * ```
 */
export class SendQueue {
  /** The encoding variant channel events are encoded in for this queue (capability bits). */
  variant = 0;
  #connection: Connection;
  #flusher: Flusher;
  #limit: number;
  #onOverflow: () => void;
  #encode: EventEncoder;
  #items: (Uint8Array | StreamSlice | PendingLine)[] = [];
  /** Stream references and pending lines among the items: resolved before a write. */
  #slices = 0;
  #open: StreamSlice | undefined;
  #queued = 0;
  #inFlight = 0;
  /** Bytes of replies queued and in flight: they do not count against the limit. */
  #replyQueued = 0;
  #replyInFlight = 0;
  #writing = false;
  #closed = false;
  #overflowed = false;
  #drainWaiters: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];

  /**
   * Makes an empty queue for one connection.
   *
   * @param connection Where the bytes go.
   * @param options The flusher, the bound and the encoder.
   */
  constructor(connection: Connection, options: SendQueueOptions) {
    this.#connection = connection;
    this.#flusher = options.flusher;
    this.#limit = options.limit;
    this.#onOverflow = options.onOverflow ?? (() => {});
    this.#encode = options.encode ?? (() => {
      throw new Error("Cannot encode a channel event: this send queue has no encoder");
    });
  }

  /** Bytes waiting or being written (channel events count once flushed). */
  get size(): number {
    return this.#queued + this.#inFlight;
  }

  /** Whether the queue passed its limit (it then takes only a `"last"` line). */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /**
   * Queues one encoded line. Costs no copy: the bytes may be shared with other queues and
   * must not change afterwards.
   *
   * @param bytes The line with its CR LF (or several lines).
   * @param kind Whose line it is (see {@link PushKind}). @default {"event"}
   * @param event The event the line encodes, when it may still be lost with its commit.
   * @returns False when the queue is closed or overflowed (the line was dropped).
   */
  push(bytes: Uint8Array, kind: PushKind = "event", event?: ChatEvent): boolean {
    if (this.#closed || (this.#overflowed && kind !== "last")) return false;
    if (kind === "event" && this.#counted() + bytes.length > this.#limit) {
      this.#overflow();
      return false;
    }
    if (kind === "reply") this.#replyQueued += bytes.length;
    const open = this.#open;
    if (open) {
      this.#close(open);
      open.stream.lost(this);
    }
    if (event?.commit) {
      this.#items.push({ bytes, event });
      this.#slices++;
    } else {
      this.#items.push(bytes);
    }
    this.#queued += bytes.length;
    if (this.#items.length === 1 && !this.#writing) this.#flusher.schedule(this);
    return true;
  }

  /**
   * Follows a channel stream from event `from` on (called by {@link ChannelStream}).
   *
   * @param stream The stream.
   * @param from The first event's index.
   */
  attach(stream: ChannelStream, from: number): void {
    const open = this.#open;
    if (this.#closed || this.#overflowed || open?.stream === stream) return;
    if (open) {
      this.#close(open);
      open.stream.lost(this);
    }
    const slice = { stream, from, to: -1, variant: this.variant };
    this.#items.push(slice);
    this.#open = slice;
    // Also while a write is in flight: the flush counts the slice against the bound.
    if (++this.#slices === 1 || (this.#items.length === 1 && !this.#writing)) {
      this.#flusher.schedule(this);
    }
  }

  /**
   * Stops following a channel stream at its current end (called by {@link ChannelStream}).
   *
   * @param stream The stream.
   */
  detach(stream: ChannelStream): void {
    if (this.#open?.stream === stream) this.#close(this.#open);
  }

  /** Starts writing what is queued, unless a write is in flight (it continues after). */
  flush(): void {
    if (this.#closed) return;
    if (this.#slices > 0 && !this.#resolve()) return;
    if (this.#writing || this.#items.length === 0) return;
    const chunks = this.#items as Uint8Array[];
    const length = this.#queued;
    this.#items = [];
    this.#queued = 0;
    if (length === 0) return this.#wake();
    this.#inFlight = length;
    // A write takes everything queued, replies included.
    this.#replyInFlight = this.#replyQueued;
    this.#replyQueued = 0;
    this.#writing = true;
    this.#connection.write(chunks, length).then(
      () => this.#written(),
      () => this.#fail(),
    );
  }

  /**
   * Resolves once everything pushed so far has been written (or the queue is closed).
   *
   * @returns A promise.
   */
  drained(): Promise<void> {
    if (this.#closed || (!this.#writing && this.#items.length === 0)) return Promise.resolve();
    // Written out of turn: first settle what waits for its commit, so nothing unstored goes.
    this.#flusher.settle();
    this.flush();
    if (this.#closed || (!this.#writing && this.#items.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Resolves once no more than the limit is waiting (or the queue is closed or overflowed):
   * a session awaits it before reading the client's next command, so a client that asks
   * and does not read gets no further answers queued.
   *
   * @returns A promise.
   */
  belowLimit(): Promise<void> {
    if (this.#closed || this.#overflowed || this.size <= this.#limit) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Drops what is queued and accepts no more. */
  close(): void {
    this.#closed = true;
    this.#items = [];
    this.#slices = 0;
    this.#open = undefined;
    this.#queued = 0;
    this.#replyQueued = 0;
    this.#flusher.forget(this);
    this.#wake();
  }

  /** The bytes that count against the limit: everything but unwritten replies. */
  #counted(): number {
    return this.#queued + this.#inFlight - this.#replyQueued - this.#replyInFlight;
  }

  #close(slice: StreamSlice): void {
    this.#open = undefined;
    slice.to = slice.stream.end;
    // A reference that took no event (the queue got something else first) is dropped.
    if (slice.to === slice.from && this.#items.at(-1) === slice) {
      this.#items.pop();
      this.#slices--;
    }
  }

  /**
   * Turns stream references into bytes and checks the bound; false when it overflowed.
   * References to a stream still open (a drain mid-tick) are closed here and reopened at
   * its next event.
   */
  #resolve(): boolean {
    const open = this.#open;
    if (open?.stream.open) {
      this.#close(open);
      open.stream.lost(this);
    }
    this.#open = undefined;
    const items = this.#items;
    const chunks: Uint8Array[] = [];
    let queued = this.#queued;
    for (const item of items) {
      if (item instanceof Uint8Array) {
        chunks.push(item);
        continue;
      }
      if ("event" in item) {
        if (isLost(item.event)) queued -= item.bytes.length;
        else chunks.push(item.bytes);
        continue;
      }
      const to = item.to < 0 ? item.stream.end : item.to;
      const bytes = item.stream.bytes(item.variant, this.#encode, item.from, to);
      if (bytes.length === 0) continue;
      chunks.push(bytes);
      queued += bytes.length;
    }
    this.#items = chunks;
    this.#slices = 0;
    this.#queued = queued;
    if (this.#counted() <= this.#limit) return true;
    this.#overflow();
    return false;
  }

  /**
   * Past the limit: what waits is dropped (what is in flight finishes), and from now on only
   * the `"last"` line is taken, so the client can still be told why it is dropped.
   */
  #overflow(): void {
    if (this.#overflowed) return;
    this.#overflowed = true;
    this.#items = [];
    this.#slices = 0;
    this.#open = undefined;
    this.#queued = 0;
    this.#replyQueued = 0;
    this.#wakeRoom();
    this.#onOverflow();
  }

  #written(): void {
    this.#writing = false;
    this.#inFlight = 0;
    this.#replyInFlight = 0;
    if (this.size <= this.#limit) this.#wakeRoom();
    if (this.#items.length > 0) {
      // Let the next tick gather more before writing again.
      this.#flusher.schedule(this);
    } else {
      this.#wake();
    }
  }

  #fail(): void {
    this.#writing = false;
    this.#inFlight = 0;
    this.#replyInFlight = 0;
    this.close();
  }

  #wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
