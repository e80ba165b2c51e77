/**
 * A chat room in one named shared memory segment: any number of processes on this machine
 * join, send, and read every message in order, with no server.
 *
 * How one message travels: `send()` encodes the text, takes the room's lock (a pid in a word
 * of the segment), writes the next ring slot under a seqlock (version odd while writing),
 * publishes the new write sequence, lets go and, only if some reader sleeps, wakes them with
 * futex. Each reader keeps its own cursor: it copies the slot, checks that the version did
 * not move while it copied (so a message is never torn), and is told how many it missed when
 * the ring went round past it.
 *
 * Sequence numbers past 2^32: the write sequence and each slot's sequence are Float64 fields
 * (exact to 2^53, centuries at a million messages a second). Readers compare those; the
 * 32-bit futex word only carries the low 32 bits, is stored with `Atomics.store` after the
 * Float64 (the release point) and is only ever compared for equality, so its wrap-around is
 * harmless.
 *
 * This file is the public face; each concern has a file of its own:
 *
 * - `_room_layout.ts`: the segment's bytes (header, participants table, ring slots);
 * - `_room_segment.ts`: creating or opening the segment, one participant's mapping of it;
 * - `_room_members.ts`: the participants table: join, leave, heartbeat, reaping the dead;
 * - `_room_writer.ts`: the lock, writing a slot, repairing a half-written one, backpressure;
 * - `_room_reader.ts`: the cursor, the batch read every way of reading uses, missed counts;
 * - `_room_wait.ts`: futex sleep and wake, and the polling fallback;
 * - `_lock.ts`: the cross-process lock word;
 * - `room_admin.ts`: `inspectRoom` and `removeStaleRoom`, for `shmooze ipc`.
 *
 * @module
 */

import { objectName } from "./names.ts";
import { checkName, RoomMembers } from "./_room_members.ts";
import { RoomReader } from "./_room_reader.ts";
import { openSegment, roomError, RoomSegment } from "./_room_segment.ts";
import { RoomWriter } from "./_room_writer.ts";
import { CAPACITY_RANGE, DEFAULT_CAPACITY, H, MAX_PAYLOAD_BYTES } from "./_room_layout.ts";

/**
 * The most bytes one room message holds (a slot's payload, the seeds' 1 KiB buffer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./mod.ts";
 * import { Room } from "./room.ts";
 * import { MAX_MESSAGE_BYTES } from "./room.ts";
 *
 * using me = Room.join(`doc-max-${crypto.randomUUID().slice(0, 8)}`, "ann");
 * me.send("é".repeat(MAX_MESSAGE_BYTES / 2)); // 2 bytes each: fits exactly
 * assert.throws(
 *   () => me.send("x".repeat(MAX_MESSAGE_BYTES + 1)),
 *   (error) => error instanceof IpcError && error.code === "EMSGSIZE",
 * );
 * ```
 */
export const MAX_MESSAGE_BYTES: number = MAX_PAYLOAD_BYTES;

/** Something that happened in a room, as a reader sees it. */
export interface RoomEvent {
  /** A chat message, a participant joining or leaving, or messages lost to a full ring. */
  kind: "message" | "join" | "leave" | "missed";
  /** The event's sequence number in the room (for `missed`: the first one lost). */
  seq: number;
  /** The sender's own count of messages sent (0 for join, leave and missed). */
  packet: number;
  /** When it was written, ms since the epoch. */
  time: number;
  /** The participant it came from (id 0 and name "" for `missed`). */
  from: { id: number; name: string };
  /** 0 = everyone, else the id of the participant it was sent to privately. */
  to: number;
  /** The message text ("" for join, leave and missed). */
  text: string;
  /** For `missed`: how many events the ring overwrote before this reader got to them. */
  missed?: number;
}

/** A member of a room, from its participants table. */
export interface Participant {
  /** Its slot in the table, 1 to 64; the `from.id` of its events. */
  id: number;
  /** Its name, unique in the room. */
  name: string;
  /** Its process. */
  pid: number;
  /** When it joined, ms since the epoch. */
  joinedAt: number;
  /** When it last showed it was alive, ms since the epoch (updated every second). */
  heartbeat: number;
}

/** Options for {@link Room.join}. */
export interface RoomJoinOptions {
  /**
   * Ring slots when this call creates the room (ignored when it exists): how many messages
   * a reader may fall behind before it misses some. Each slot takes 1120 bytes.
   * @default {256}
   */
  capacity?: number;
}

/** Options for {@link Room.sendBatch}. */
export interface RoomSendOptions {
  /** A participant's id or name for a private batch; everyone when omitted or 0. @default {0} */
  to?: number | string;
  /**
   * Backpressure: how long to wait, in ms, for reading participants to make room before
   * overwriting events they have not read yet. 0 never waits: a reader that falls a whole ring
   * behind is lapped and told how many it missed. A reader counts once it has read (through
   * any of `drain`, `poll` or `events`), is not already lapped and has shown a heartbeat in
   * the last 3 s; this participant's own reading never holds its writing back.
   * @default {0}
   */
  waitMs?: number;
}

/**
 * One event as {@link Room.drain} hands it to its callback. The same object is refilled for
 * every event, so nothing is allocated per event: copy what you keep, or call `toEvent()`.
 */
export interface RoomEventView {
  /** As in {@link RoomEvent}. */
  readonly kind: RoomEvent["kind"];
  /** The event's sequence number (for `missed`: the first one lost). */
  readonly seq: number;
  /** The sender's own count of messages sent (0 for join, leave and missed). */
  readonly packet: number;
  /** When it was written, ms since the epoch. */
  readonly time: number;
  /** The sender's participant id (0 for `missed`). */
  readonly fromId: number;
  /** The sender's name ("" for `missed`). */
  readonly fromName: string;
  /** 0 = everyone, else the id of the participant it was sent to privately. */
  readonly to: number;
  /** For `missed`: how many events the ring overwrote before this reader got to them; else 0. */
  readonly missed: number;
  /** The payload's length in bytes. */
  readonly length: number;
  /** The payload in its first `length` bytes: a private copy, reused for the next event. */
  readonly bytes: Uint8Array;
  /** The payload as text, decoded on first use. */
  readonly text: string;
  /** A standalone copy of this event. */
  toEvent(): RoomEvent;
}

/**
 * Membership in a shared-memory chat room. Every process that joins the same room name on
 * this machine (same user) sees the others' messages, in order, with no server.
 *
 * A room holds up to 64 participants with unique names, and a ring of (by default) 256
 * messages of up to 1 KiB each. A participant killed at any moment — even while writing —
 * does not block the others: its lock is recovered and its entry reaped (a `leave` is
 * announced for it). The last participant to leave removes the room's shared memory.
 *
 * @example Two participants in one process
 * ```ts
 * import assert from "node:assert/strict";
 * import { Room } from "./room.ts";
 *
 * const room = `doc-${crypto.randomUUID().slice(0, 8)}`;
 * const ann = Room.join(room, "ann");
 * const bob = Room.join(room, "bob");
 * ann.send("hello");
 * for await (const event of bob.events()) {
 *   assert.equal(`${event.from.name}: ${event.text}`, "ann: hello");
 *   break;
 * }
 * bob.leave();
 * ann.leave(); // the last one out removes the segment
 * ```
 */
export class Room {
  readonly #segment: RoomSegment;
  readonly #writer: RoomWriter;
  readonly #members: RoomMembers;
  readonly #reader: RoomReader;

  private constructor(
    segment: RoomSegment,
    writer: RoomWriter,
    members: RoomMembers,
    reader: RoomReader,
  ) {
    this.#segment = segment;
    this.#writer = writer;
    this.#members = members;
    this.#reader = reader;
  }

  /**
   * Joins a room, creating it if nobody is in it yet.
   *
   * @param room The room's name (any text; it is made safe for the OS object's name).
   * @param name This participant's name: 1 to 32 bytes of letters, digits and `_-.[]{}\|^`,
   *   unique in the room.
   * @param options Ring capacity if this call creates the room.
   * @returns The membership; call {@link Room.leave} when done.
   * @throws {IpcError} `EEXIST` if the name is taken, `ENOSPC` if 64 are already in,
   *   `EINVAL` for a bad name or capacity, `EOWNER` if another user made the segment,
   *   `ECORRUPT`/`EVERSION`/`EBADMAGIC` if the segment is not a sound room of this version,
   *   `EPROTO` if its creator never finished setting it up.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError } from "./mod.ts";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-join-${crypto.randomUUID().slice(0, 8)}`;
   * const me = Room.join(room, "ann");
   * assert.deepEqual(me.participants().map((p) => p.name), ["ann"]);
   * assert.throws(
   *   () => Room.join(room, "ann"),
   *   (error) => error instanceof IpcError && error.code === "EEXIST",
   * );
   * me.leave();
   * ```
   */
  static join(room: string, name: string, options: RoomJoinOptions = {}): Room {
    const nameBytes = checkName(room, name);
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (
      !Number.isInteger(capacity) || capacity < CAPACITY_RANGE.min ||
      capacity > CAPACITY_RANGE.max
    ) {
      throw roomError(
        `create room "${room}"`,
        "EINVAL",
        `the capacity must be a whole number of slots from ${CAPACITY_RANGE.min} to ${CAPACITY_RANGE.max}, not ${capacity}`,
      );
    }
    const segmentName = objectName("room", room);
    // A room being removed by its last participant is marked closed first; retry until we
    // get a fresh one. Two rounds suffice unless joins and last leaves keep racing.
    for (let attempt = 0; attempt < 100; attempt++) {
      const shm = openSegment(segmentName, room, capacity);
      const segment = new RoomSegment(shm, room, name, nameBytes);
      const writer = new RoomWriter(segment);
      const members = new RoomMembers(segment, writer);
      let joined: number | undefined;
      try {
        joined = members.enter();
      } catch (error) {
        shm.close();
        throw error;
      }
      if (joined !== undefined) {
        return new Room(segment, writer, members, new RoomReader(segment, joined + 1));
      }
      shm.close();
    }
    throw roomError(`join room "${room}"`, "EAGAIN", "it was removed and recreated too often");
  }

  /** This participant's id in the room (1 to 64). */
  get id(): number {
    return this.#segment.id;
  }

  /** This participant's name. */
  get name(): string {
    return this.#segment.name;
  }

  /** The room's name, as given to {@link Room.join}. */
  get room(): string {
    return this.#segment.room;
  }

  /**
   * Sends a message to everyone, or privately to one participant.
   *
   * @param text Up to 1024 bytes of UTF-8.
   * @param to A participant's id or name; everyone when omitted or 0.
   * @throws {IpcError} `EMSGSIZE` if the text is too long, `ENOENT` if no such participant.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-send-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.send("just for you", "bob");
   * for await (const event of bob.events()) {
   *   assert.equal(event.to, bob.id);
   *   assert.equal(event.text, "just for you");
   *   break;
   * }
   * bob.leave();
   * ann.leave();
   * ```
   */
  send(text: string, to: number | string = 0): void {
    this.#segment.checkOpen("send to");
    this.#writer.send([text], this.#members.recipient(to), 0);
  }

  /**
   * Sends several messages in a row, taking the lock once per up to 256 of them and waking
   * sleeping readers once: the fast way to send many. Each one is a message of its own, with
   * its own packet number, exactly as if sent with {@link Room.send}, and no other writer's
   * message comes between them while the lock is held. Bytes are sent as they are (no
   * encoding), so an encoded message can be reused. With `waitMs`, it waits for slow readers
   * instead of lapping them — synchronously, blocking this thread for up to `waitMs` — see
   * {@link RoomSendOptions}.
   *
   * @param messages Each up to 1024 bytes: text (sent as UTF-8) or bytes.
   * @param options The recipient and how long to wait for slow readers.
   * @throws {IpcError} `EMSGSIZE` if one is too long (then none is sent), `ENOENT` if no such
   *   participant, `EINVAL` for a bad `waitMs`.
   *
   * @example Send a batch, read it back in one call
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-batch-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.sendBatch(["one", new TextEncoder().encode("two"), "three"], { waitMs: 1000 });
   * assert.deepEqual(bob.poll().map((e) => e.text), ["one", "two", "three"]);
   * bob.leave();
   * ann.leave();
   * ```
   */
  sendBatch(messages: readonly (string | Uint8Array)[], options: RoomSendOptions = {}): void {
    this.#segment.checkOpen("send to");
    const waitMs = options.waitMs ?? 0;
    if (!Number.isFinite(waitMs) || waitMs < 0) {
      throw roomError(
        `send to room "${this.#segment.room}"`,
        "EINVAL",
        `waitMs must be a finite number of milliseconds, 0 or more, not ${waitMs}`,
      );
    }
    this.#writer.send(messages, this.#members.recipient(options.to ?? 0), waitMs);
  }

  /**
   * The room's events from the moment this participant joined, in order: messages to
   * everyone and to this participant (not its own), joins, leaves, and `missed` when the
   * ring overwrote events before this reader got to them. An idle reader sleeps (futex on
   * Linux) and uses no CPU. Ends when the signal aborts or the participant leaves. Calling
   * it again continues where the last one stopped.
   *
   * @param signal Stops the iteration.
   * @returns The events.
   *
   * @example Stop reading with an AbortSignal
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-events-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * const stop = new AbortController();
   * const seen: string[] = [];
   * const reading = (async () => {
   *   for await (const event of bob.events(stop.signal)) {
   *     seen.push(event.kind);
   *     if (event.kind === "message") stop.abort();
   *   }
   * })();
   * ann.send("bye");
   * await reading;
   * assert.deepEqual(seen, ["message"]); // ann joined before bob did
   * bob.leave();
   * ann.leave();
   * ```
   */
  events(signal?: AbortSignal): AsyncIterableIterator<RoomEvent> {
    return this.#reader.events(signal);
  }

  /**
   * Takes every event available now (at most `max`) without waiting: the same events, in the
   * same order, as {@link Room.events}, which it shares a cursor with.
   *
   * @param max The most events to return (default: the ring's capacity).
   * @returns The events; empty when there is nothing new.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-poll-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.send("one");
   * ann.send("two");
   * assert.deepEqual(bob.poll().map((e) => e.text), ["one", "two"]);
   * assert.deepEqual(bob.poll(), []);
   * bob.leave();
   * ann.leave();
   * ```
   */
  poll(max: number = this.#segment.capacity): RoomEvent[] {
    return this.#reader.poll(max);
  }

  /**
   * Hands every event available now (at most `max`) to `handler`, without waiting and
   * without allocating per event: the fastest way to read. Same events, order and cursor as
   * {@link Room.events}. The view is refilled for each event, so copy what you keep. If
   * `handler` throws, the event it was given counts as read. Pair it with
   * {@link Room.waitForEvents} to sleep when there is nothing to read.
   *
   * @param handler Called once per event, in order.
   * @param max The most events to hand out (default: the ring's capacity).
   * @returns How many events it handed out.
   *
   * @example A reader loop that takes a batch per wake-up
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-drain-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.sendBatch(["a", "b", "c"]);
   * let bytes = 0;
   * while (bytes < 3) {
   *   bob.drain((view) => {
   *     if (view.kind === "message") bytes += view.length;
   *   });
   *   if (bytes < 3) await bob.waitForEvents();
   * }
   * assert.equal(bytes, 3);
   * bob.leave();
   * ann.leave();
   * ```
   */
  drain(handler: (event: RoomEventView) => void, max: number = this.#segment.capacity): number {
    return this.#reader.drain(handler, max);
  }

  /**
   * Resolves when events may be available: at once if some are; else after spinning 50 µs,
   * or after sleeping (Linux: futex; elsewhere polling every 1 to 10 ms) until a writer
   * publishes. It also resolves when `signal` aborts, when this participant leaves, and after
   * at most 1 s, so callers loop and check their own conditions.
   *
   * @param signal Ends the wait early.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const room = `doc-wait-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * setTimeout(() => ann.send("later"), 10);
   * let text = "";
   * while (text === "") {
   *   await bob.waitForEvents();
   *   text = bob.poll().find((e) => e.kind === "message")?.text ?? "";
   * }
   * assert.equal(text, "later");
   * bob.leave();
   * ann.leave();
   * ```
   */
  waitForEvents(signal?: AbortSignal): Promise<void> {
    return this.#reader.waitForEvents(signal);
  }

  /**
   * Everyone in the room now, by id.
   *
   * @returns The participants.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const me = Room.join(`doc-who-${crypto.randomUUID().slice(0, 8)}`, "ann");
   * const [ann] = me.participants();
   * assert.equal(ann.id, me.id);
   * assert.equal(ann.pid, Deno.pid);
   * me.leave();
   * ```
   */
  participants(): Participant[] {
    this.#segment.checkOpen("list");
    return this.#members.participants();
  }

  /**
   * How full the ring is: its capacity in slots, how many hold an event, and the last
   * sequence number written.
   *
   * @returns The counts.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Room } from "./room.ts";
   *
   * const me = Room.join(`doc-stats-${crypto.randomUUID().slice(0, 8)}`, "ann", { capacity: 16 });
   * me.send("one");
   * // The join and "one".
   * assert.deepEqual(me.stats(), { capacity: 16, used: 2, writeSeq: 2 });
   * me.leave();
   * ```
   */
  stats(): { capacity: number; used: number; writeSeq: number } {
    const segment = this.#segment;
    segment.checkOpen("read");
    const writeSeq = segment.f64[H.F_WRITE_SEQ];
    return { capacity: segment.capacity, used: Math.min(writeSeq, segment.capacity), writeSeq };
  }

  /**
   * Leaves the room: announces it, frees this entry and, if nobody else is left, removes the
   * room's shared memory. Ends this participant's event iteration. Safe to call twice.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError } from "./mod.ts";
   * import { Room } from "./room.ts";
   *
   * const me = Room.join(`doc-leave-${crypto.randomUUID().slice(0, 8)}`, "ann");
   * me.leave();
   * me.leave();
   * assert.throws(
   *   () => me.send("anyone?"),
   *   (error) => error instanceof IpcError && error.code === "EBADF",
   * );
   * ```
   */
  leave(): void {
    if (!this.#segment.closed) this.#members.leave();
  }

  /** Leaves on `using`. */
  [Symbol.dispose](): void {
    this.leave();
  }
}
