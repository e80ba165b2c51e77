/**
 * A chat room in one named shared memory segment: any number of processes on this machine
 * join, send, and read every message in order, with no server. The layout is in
 * `_room_layout.ts`; the lock in `_lock.ts`.
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
 * @module
 */

import { SharedMemory } from "./shared_memory.ts";
import { IpcError } from "./ipc_error.ts";
import { objectName } from "./names.ts";
import { platform } from "./platform.ts";
import { SegmentLock, sleepSync } from "./_lock.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { isAlive, ownIdentity } from "./_liveness.ts";
import {
  CAPACITY_RANGE,
  DEFAULT_CAPACITY,
  type EntryRecord,
  entryWord,
  H,
  headerProblem,
  isSequence,
  KIND_JOIN,
  KIND_LEAVE,
  KIND_MESSAGE,
  type LayoutProblem,
  MAGIC,
  MAX_NAME_BYTES,
  MAX_PARTICIPANTS,
  MAX_PAYLOAD_BYTES,
  MAX_SEQUENCE,
  P,
  readEntries,
  RING_OFFSET,
  type RoomViews,
  roomViews,
  S,
  segmentBytes,
  SLOT_BYTES,
  slotWord,
  STATE_CLOSED,
  STATE_INIT,
  STATE_READY,
  VERSION,
} from "./_room_layout.ts";

/** The most bytes one room message holds (a slot's payload, the seeds' 1 KiB buffer). */
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

/** What {@link inspectRoom} reads from a room segment. */
export interface RoomInfo {
  /** The segment's size in bytes. */
  size: number;
  /** Ring slots (0 when the segment is not a usable room). */
  capacity: number;
  /** The last published sequence number. */
  writeSeq: number;
  /** Whether the segment holds a complete room of this version. */
  valid: boolean;
  /** Its participants, with whether each one's process still runs. */
  participants: (Participant & { alive: boolean })[];
}

/** How long a live lock owner may hold the lock before `send()` gives up. */
const LOCK_TIMEOUT_MS = 5000;
/** How often a participant updates its heartbeat and looks for dead participants. */
const HEARTBEAT_MS = 1000;
/** How long an idle reader polls before it sleeps: catches a busy sender without a syscall. */
const SPIN_MS = 0.05;
/** Longest single sleep of a reader, after which it re-checks its abort signal. */
const WAIT_SLICE_MS = 1000;
/** Payloads up to this size are copied word by word, longer ones with one `set()`. */
const WORD_COPY_BYTES = 256;
/** How many events a long `drain()` reads between publishing its cursor to writers. */
const CURSOR_PUBLISH_EVERY = 256;
/** Events `events()` takes from the ring at a time. */
const EVENTS_BATCH = 64;
/** Most messages one `sendBatch` writes per hold of the lock, so other writers get a turn. */
const LOCKED_BATCH = 256;
/** A reader with no heartbeat for this long no longer holds back writers that wait. */
const STALE_READER_MS = 3 * HEARTBEAT_MS;
/** A participant whose heartbeat is younger than this runs: nobody asks the OS about it. */
const FRESH_MS = 2 * HEARTBEAT_MS;
/** How long a waiting writer polls for a reader's progress before it sleeps. */
const WRITER_SPIN_MS = 0.1;
/** A waiting writer's sleeps: 20 µs, doubling up to 1 ms. */
const WRITER_FIRST_PAUSE_MS = 0.02;
const WRITER_LONGEST_PAUSE_MS = 1;
/** Where the OS has no futex (macOS, Windows), readers poll: 1 ms backing off to 10 ms. */
const POLL_FIRST_MS = 1;
const POLL_LONGEST_MS = 10;
/** How long a joiner waits for another process to finish creating the room. */
const SETUP_WAIT_MS = 2000;
const TWO_POW_32 = 2 ** 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_BYTES = new Uint8Array(0);
const KIND_NAMES: RoomEvent["kind"][] = [];
KIND_NAMES[KIND_MESSAGE] = "message";
KIND_NAMES[KIND_JOIN] = "join";
KIND_NAMES[KIND_LEAVE] = "leave";
const NAME_PATTERN = /^[\p{L}\p{N}_\-.[\]{}\\|^`]+$/u;

function roomError(action: string, code: string, reason: string, objectName?: string): IpcError {
  return new IpcError(action, "Room", code, 0, { reason, objectName });
}

function checkName(room: string, name: string): Uint8Array {
  const bytes = encoder.encode(name);
  const action = `join room "${room}" as "${name}"`;
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES || !NAME_PATTERN.test(name)) {
    throw roomError(
      action,
      "EINVAL",
      `a name is 1 to ${MAX_NAME_BYTES} bytes of letters, digits and _-.[]{}\\|^\``,
    );
  }
  return bytes;
}

/** What can make a segment unusable as a room. */
type SegmentProblem = LayoutProblem | { code: "EPROTO"; reason: string };

/**
 * Waits (briefly, synchronously) for a segment's creator to finish setting it up, then
 * checks its header.
 *
 * @returns Undefined when it is a sound room; else why not, with "EPROTO" when its creator
 *   never finished (it died doing so, or is stuck).
 */
function setUpProblem(views: RoomViews, deadline: number): SegmentProblem | undefined {
  const big = views.bytes.length >= RING_OFFSET;
  while (big && Atomics.load(views.i32, H.I_STATE) === STATE_INIT) {
    if (performance.now() > deadline) {
      return { code: "EPROTO", reason: "its creator has not finished setting it up" };
    }
    sleepSync(1);
  }
  return headerProblem(views);
}

/** The error for a segment that is not a sound room: a typed code, naming the segment. */
function segmentError(action: string, segment: string, problem: SegmentProblem): IpcError {
  const reason = problem.code === "ECORRUPT" ? `it is corrupt: ${problem.reason}` : problem.reason;
  return new IpcError(`${action} in shared memory`, "Room", problem.code, 0, {
    objectName: segment,
    reason,
  });
}

/** Creates the room's segment, or opens the existing one once its creator has set it up. */
function openSegment(name: string, room: string, capacity: number): SharedMemory {
  const deadline = performance.now() + SETUP_WAIT_MS;
  while (true) {
    try {
      const shm = SharedMemory.create(name, segmentBytes(capacity));
      const i32 = new Int32Array(shm.buffer, 0, RING_OFFSET >> 2);
      i32[H.I_VERSION] = VERSION;
      i32[H.I_CAPACITY] = capacity;
      i32[H.I_SLOT_BYTES] = SLOT_BYTES;
      new Float64Array(shm.buffer, 0, RING_OFFSET >> 3)[H.F_CREATED_AT] = Date.now();
      Atomics.store(i32, H.I_MAGIC, MAGIC);
      Atomics.store(i32, H.I_STATE, STATE_READY);
      return shm;
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "EEXIST") throw error;
    }
    let shm: SharedMemory;
    try {
      shm = SharedMemory.open(name);
    } catch (error) {
      // Removed between our create and open (ENOENT), or not yet sized (EAGAIN): try again.
      const retry = error instanceof IpcError && ["ENOENT", "EAGAIN"].includes(error.code);
      if (!retry || performance.now() > deadline) throw error;
      sleepSync(1);
      continue;
    }
    const problem = setUpProblem(roomViews(shm.buffer), deadline);
    if (problem === undefined) return shm;
    shm.close();
    throw segmentError(`join room "${room}"`, name, problem);
  }
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
 * import { Room } from "../../mod.ts";
 * const room = `doc-${crypto.randomUUID().slice(0, 8)}`;
 * const ann = Room.join(room, "ann");
 * const bob = Room.join(room, "bob");
 * ann.send("hello");
 * for await (const event of bob.events()) {
 *   console.log(`${event.from.name}: ${event.text}`); // "ann: hello"
 *   break;
 * }
 * bob.leave();
 * ann.leave(); // the last one out removes the segment
 * ```
 */
export class Room {
  readonly #shm: SharedMemory;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #bytes: Uint8Array;
  readonly #lock: SegmentLock;
  readonly #capacity: number;
  readonly #seqPointer: Deno.PointerObject;
  readonly #room: string;
  readonly #name: string;
  readonly #nameBytes: Uint8Array;
  readonly #scratch = new Uint8Array(MAX_PAYLOAD_BYTES);
  /** Sender names by participant id, and the join serial each was decoded for. */
  readonly #senderNames: string[] = [];
  readonly #senderSerials: number[] = [];
  readonly #view = new EventView();
  /** Events taken from the ring but not yet handed out (by `events()` or `poll()`). */
  #queue: RoomEvent[] = [];
  #queued = 0;
  #id = 0;
  /** Float64 index of this participant's entry in the participants table. */
  #entryAt = 0;
  #serial = 0;
  #packets = 0;
  #cursor = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(shm: SharedMemory, room: string, name: string, nameBytes: Uint8Array) {
    this.#shm = shm;
    const views = roomViews(shm.buffer);
    this.#i32 = views.i32;
    this.#f64 = views.f64;
    this.#bytes = views.bytes;
    this.#capacity = this.#i32[H.I_CAPACITY];
    this.#seqPointer = Deno.UnsafePointer.offset(shm.pointer, H.I_SEQ_WORD * 4)!;
    this.#lock = new SegmentLock(shm.buffer, H.I_LOCK * 4, `room "${room}"`);
    this.#room = room;
    this.#name = name;
    this.#nameBytes = nameBytes;
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
   * import { Room } from "../../mod.ts";
   * const me = Room.join(`doc-join-${crypto.randomUUID().slice(0, 8)}`, "ann");
   * console.log(me.participants().map((p) => p.name)); // ["ann"]
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
    const segment = objectName("room", room);
    // A room being removed by its last participant is marked closed first; retry until we
    // get a fresh one. Two rounds suffice unless joins and last leaves keep racing.
    for (let attempt = 0; attempt < 100; attempt++) {
      const shm = openSegment(segment, room, capacity);
      const member = new Room(shm, room, name, nameBytes);
      try {
        if (member.#enter()) return member;
      } catch (error) {
        shm.close();
        throw error;
      }
      shm.close();
    }
    throw roomError(`join room "${room}"`, "EAGAIN", "it was removed and recreated too often");
  }

  /** Takes a free entry and announces the join; false if the room was being removed. */
  #enter(): boolean {
    return this.#lock.with(LOCK_TIMEOUT_MS, (recovered) => {
      if (recovered) this.#repair();
      if (Atomics.load(this.#i32, H.I_STATE) === STATE_CLOSED) return false;
      this.#reapDead();
      const entries = readEntries(this.#views());
      const taken = entries.find((e) => e.name === this.#name);
      const action = `join room "${this.#room}" as "${this.#name}"`;
      if (taken) {
        throw roomError(action, "EEXIST", `the name is taken by process ${taken.pid}`);
      }
      let id = 1;
      while (id <= MAX_PARTICIPANTS && entries.some((e) => e.id === id)) id++;
      if (id > MAX_PARTICIPANTS) {
        throw roomError(action, "ENOSPC", `the room is full: it holds at most ${MAX_PARTICIPANTS}`);
      }
      const word = entryWord(id);
      const now = Date.now();
      this.#serial = this.#i32[H.I_JOIN_SERIAL] = (this.#i32[H.I_JOIN_SERIAL] + 1) | 0;
      this.#i32[word + P.I_SERIAL] = this.#serial;
      this.#i32[word + P.I_WAITING] = 0;
      this.#i32[word + P.I_NAME_LENGTH] = this.#nameBytes.length;
      this.#bytes.set(this.#nameBytes, (word << 2) + P.NAME);
      this.#f64[(word >> 1) + P.F_JOINED_AT] = now;
      this.#f64[(word >> 1) + P.F_HEARTBEAT] = now;
      this.#f64[(word >> 1) + P.F_CURSOR] = 0;
      this.#f64[(word >> 1) + P.F_START] = ownIdentity().start;
      // The pid last: until it is set, the entry is free to everyone else.
      Atomics.store(this.#i32, word + P.I_PID, ownIdentity().pid);
      this.#id = id;
      this.#entryAt = word >> 1;
      this.#announce(KIND_JOIN, id, this.#serial, this.#nameBytes);
      this.#cursor = this.#f64[H.F_WRITE_SEQ] + 1;
      const timer = setInterval(() => this.#heartbeat(), HEARTBEAT_MS);
      Deno.unrefTimer(timer);
      this.#timer = timer;
      return true;
    });
  }

  #views(): RoomViews {
    return { i32: this.#i32, f64: this.#f64, bytes: this.#bytes };
  }

  /** This participant's id in the room (1 to 64). */
  get id(): number {
    return this.#id;
  }

  /** This participant's name. */
  get name(): string {
    return this.#name;
  }

  /** The room's name, as given to {@link Room.join}. */
  get room(): string {
    return this.#room;
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
   * import { Room } from "../../mod.ts";
   * const room = `doc-send-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.send("just for you", "bob");
   * for await (const event of bob.events()) {
   *   console.log(event.to === bob.id, event.text); // true "just for you"
   *   break;
   * }
   * bob.leave();
   * ann.leave();
   * ```
   */
  send(text: string, to: number | string = 0): void {
    this.#checkOpen("send to");
    this.#sendAll([text], this.#recipient(to), 0);
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
   * import { Room } from "../../mod.ts";
   * const room = `doc-batch-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.sendBatch(["one", new TextEncoder().encode("two"), "three"], { waitMs: 1000 });
   * console.log(bob.poll().map((e) => e.text)); // ["one", "two", "three"]
   * bob.leave();
   * ann.leave();
   * ```
   */
  sendBatch(messages: readonly (string | Uint8Array)[], options: RoomSendOptions = {}): void {
    this.#checkOpen("send to");
    const waitMs = options.waitMs ?? 0;
    if (!Number.isFinite(waitMs) || waitMs < 0) {
      throw roomError(
        `send to room "${this.#room}"`,
        "EINVAL",
        `waitMs must be a finite number of milliseconds, 0 or more, not ${waitMs}`,
      );
    }
    this.#sendAll(messages, this.#recipient(options.to ?? 0), waitMs);
  }

  #recipient(to: number | string): number {
    if (to === 0) return 0;
    const entries = readEntries(this.#views());
    const found = typeof to === "number"
      ? entries.find((e) => e.id === to)
      : entries.find((e) => e.name === to);
    if (found === undefined) {
      throw roomError(
        `send to room "${this.#room}"`,
        "ENOENT",
        `nobody ${typeof to === "number" ? "with id" : "called"} ${to} is in the room`,
      );
    }
    return found.id;
  }

  /** Throws if a message does not fit in a slot, before anything of its batch is written. */
  #checkSize(message: string | Uint8Array): void {
    let size: number;
    if (typeof message === "string") {
      // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
      if (message.length * 3 <= MAX_PAYLOAD_BYTES) return;
      if (encoder.encodeInto(message, this.#scratch).read === message.length) return;
      size = encoder.encode(message).length;
    } else {
      if (message.length <= MAX_PAYLOAD_BYTES) return;
      size = message.length;
    }
    throw roomError(
      `send to room "${this.#room}"`,
      "EMSGSIZE",
      `the message is ${size} bytes; a message holds at most ${MAX_PAYLOAD_BYTES}`,
    );
  }

  /**
   * Writes messages under the lock, in turns of at most LOCKED_BATCH. With `waitMs`, each
   * turn writes only what fits before the slowest reader's cursor, and between turns it waits
   * for readers to move, until the deadline; then it stops waiting and laps them.
   */
  #sendAll(messages: readonly (string | Uint8Array)[], to: number, waitMs: number): void {
    for (const message of messages) this.#checkSize(message);
    let deadline = waitMs > 0 ? performance.now() + waitMs : 0;
    let sent = 0;
    while (sent < messages.length) {
      const recovered = this.#lock.acquire(LOCK_TIMEOUT_MS);
      let count = 0;
      let sleeps = 0;
      try {
        if (recovered) this.#repair();
        sleeps = Atomics.load(this.#i32, H.I_SLEEPS);
        const space = deadline === 0 ? LOCKED_BATCH : this.#space();
        count = Math.min(messages.length - sent, LOCKED_BATCH, space);
        const time = Date.now();
        for (let i = 0; i < count; i++) {
          const packet = ++this.#packets;
          this.#write(
            KIND_MESSAGE,
            to,
            this.#id,
            this.#serial,
            this.#nameBytes,
            messages[sent + i],
            packet,
            time,
          );
        }
      } finally {
        this.#lock.release();
      }
      sent += count;
      if (count > 0) this.#wakeIfWaiting(sleeps);
      else if (!this.#waitForSpace(deadline)) deadline = 0;
    }
  }

  /**
   * How many messages can be written now without overwriting one that a reading
   * participant (see {@link RoomSendOptions.waitMs}) has not read.
   */
  #space(): number {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const next = f64[H.F_WRITE_SEQ] + 1;
    const now = Date.now();
    let space = Infinity;
    for (let id = 1; id <= MAX_PARTICIPANTS; id++) {
      if (id === this.#id) continue;
      const word = entryWord(id);
      if (Atomics.load(i32, word + P.I_PID) === 0) continue;
      const cursor = f64[(word >> 1) + P.F_CURSOR];
      const unread = next - cursor;
      // Unread beyond a whole ring: already lapped, it will be told what it missed. Written so
      // that a cursor or heartbeat that is not a number (a corrupt entry) counts as no reader.
      if (cursor === 0 || !(unread >= 0 && unread <= this.#capacity)) continue;
      if (!(now - f64[(word >> 1) + P.F_HEARTBEAT] <= STALE_READER_MS)) continue;
      space = Math.min(space, this.#capacity - unread);
    }
    return space;
  }

  /**
   * Waits for readers to free a quarter of the ring (or what is left to send), polling
   * briefly, then sleeping in slices. False once the deadline has passed.
   */
  #waitForSpace(deadline: number): boolean {
    const enough = Math.max(1, this.#capacity >> 2);
    const spinUntil = performance.now() + WRITER_SPIN_MS;
    let pause = WRITER_FIRST_PAUSE_MS;
    while (this.#space() < enough) {
      const now = performance.now();
      if (now > deadline) return false;
      if (now < spinUntil) continue;
      sleepSync(Math.min(pause, deadline - now));
      pause = Math.min(pause * 2, WRITER_LONGEST_PAUSE_MS);
    }
    return true;
  }

  /**
   * Writes one slot and publishes it. Call holding the lock. The slot's version is odd while
   * it is written; the write sequence moves only once the slot is complete, so a reader
   * never sees a half-written slot, even if this process dies in the middle. A text payload
   * is encoded straight into the slot (its size already checked).
   */
  #write(
    kind: number,
    to: number,
    from: number,
    serial: number,
    name: Uint8Array,
    payload: string | Uint8Array,
    packet: number,
    time: number,
  ): void {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const bytes = this.#bytes;
    const last = this.#writeSeq();
    if (last === MAX_SEQUENCE) {
      throw this.#corrupt(`its write sequence is ${last}: every sequence number is used`);
    }
    const seq = last + 1;
    const word = slotWord(last % this.#capacity);
    const double = word >> 1;
    const at = word << 2;
    const version = Atomics.add(i32, word + S.I_VERSION, 1);
    i32[word + S.I_KIND] = kind;
    i32[word + S.I_FROM] = from;
    i32[word + S.I_TO] = to;
    i32[word + S.I_FROM_SERIAL] = serial;
    i32[word + S.I_NAME_LENGTH] = name.length;
    f64[double + S.F_SEQ] = seq;
    f64[double + S.F_PACKET] = packet;
    f64[double + S.F_TIME] = time;
    bytes.set(name, at + S.NAME);
    let length = payload.length;
    if (typeof payload !== "string") bytes.set(payload, at + S.PAYLOAD);
    else if (length > 0) {
      const start = at + S.PAYLOAD;
      length =
        encoder.encodeInto(payload, bytes.subarray(start, start + MAX_PAYLOAD_BYTES)).written;
    }
    i32[word + S.I_LENGTH] = length;
    Atomics.store(i32, word + S.I_VERSION, version + 2);
    f64[H.F_WRITE_SEQ] = seq;
    Atomics.store(i32, H.I_SEQ_WORD, seq % TWO_POW_32);
  }

  /** Writes a join or leave and wakes sleeping readers. Call holding the lock. */
  #announce(kind: number, id: number, serial: number, name: Uint8Array): void {
    const sleeps = Atomics.load(this.#i32, H.I_SLEEPS);
    this.#write(kind, 0, id, serial, name, NO_BYTES, 0, Date.now());
    this.#wakeIfWaiting(sleeps);
  }

  /**
   * After publishing, wakes the sleeping readers unless a wake is already sure to reach every
   * sleep begun so far. `sleeps` is I_SLEEPS as read before this writer published.
   */
  #wakeIfWaiting(sleeps: number): void {
    const i32 = this.#i32;
    if (Atomics.load(i32, H.I_WAITERS) === 0) return;
    // One wake per sleep: a reader takes tens of µs to come back from futex and count itself
    // out of the waiters, and a writer must not make a system call for every message meanwhile.
    if (Atomics.load(i32, H.I_SLEEPS) === Atomics.load(i32, H.I_WOKEN_SLEEPS)) return;
    // Record only the sleeps begun before we published: each of those sleeps on an older
    // value, which our wake ends, or saw our publish and did not sleep. One begun since may
    // sleep on the value we published (if we were preempted before getting here) and enter
    // the futex after our wake: the next writer must still wake it, or it sleeps out its 1 s
    // slice while messages wait.
    Atomics.store(i32, H.I_WOKEN_SLEEPS, sleeps);
    this.#wakeReaders();
  }

  /**
   * Undoes what a lock owner that died mid-write left behind: a slot marked as being written
   * and, possibly, a write sequence stored without its futex word.
   */
  #repair(): void {
    const word = slotWord(this.#writeSeq() % this.#capacity);
    if (Atomics.load(this.#i32, word + S.I_VERSION) & 1) {
      this.#f64[(word >> 1) + S.F_SEQ] = 0;
      Atomics.add(this.#i32, word + S.I_VERSION, 1);
    }
    Atomics.store(this.#i32, H.I_SEQ_WORD, this.#f64[H.F_WRITE_SEQ] % TWO_POW_32);
  }

  /**
   * The write sequence, checked: it picks the slot to write, and bounds readers' loops.
   *
   * @throws {IpcError} `ECORRUPT` when it is not a sequence number a room can hold.
   */
  #writeSeq(): number {
    const seq = this.#f64[H.F_WRITE_SEQ];
    if (isSequence(seq)) return seq;
    throw this.#corrupt(`its write sequence is ${seq}, not a whole number from 0 to 2^53 − 2`);
  }

  #corrupt(reason: string): IpcError {
    return segmentError(`use room "${this.#room}"`, this.#shm.name, { code: "ECORRUPT", reason });
  }

  /** Removes participants whose process is gone, announcing each one's leave. Holding the lock. */
  #reapDead(): void {
    for (const entry of readEntries(this.#views())) {
      if (isAlive(entry.pid, entry.start)) continue;
      this.#release(entry.id);
      this.#announce(KIND_LEAVE, entry.id, entry.serial, encoder.encode(entry.name));
    }
  }

  /** Frees a participants-table entry, forgetting its sleeping readers. Holding the lock. */
  #release(id: number): number {
    const word = entryWord(id);
    const waiting = Atomics.exchange(this.#i32, word + P.I_WAITING, 0);
    Atomics.sub(this.#i32, H.I_WAITERS, waiting);
    Atomics.store(this.#i32, word + P.I_PID, 0);
    return waiting;
  }

  #heartbeat(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#f64[this.#entryAt + P.F_HEARTBEAT] = now;
    // Those that beat lately run; ask the OS (a read of /proc each) only about the others.
    const beating = (e: EntryRecord) => now - e.heartbeat >= 0 && now - e.heartbeat < FRESH_MS;
    if (readEntries(this.#views()).every((e) => beating(e) || isAlive(e.pid, e.start))) return;
    try {
      this.#lock.with(LOCK_TIMEOUT_MS, (recovered) => {
        if (recovered) this.#repair();
        this.#reapDead();
      });
    } catch (error) {
      // A live process holding the lock this long is stuck, not dead: try next beat.
      if (!(error instanceof IpcError)) throw error;
    }
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
   * import { Room } from "../../mod.ts";
   * const room = `doc-events-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * const stop = new AbortController();
   * const reading = (async () => {
   *   for await (const event of bob.events(stop.signal)) {
   *     if (event.kind === "message") stop.abort();
   *   }
   * })();
   * ann.send("bye");
   * await reading;
   * bob.leave();
   * ann.leave();
   * ```
   */
  async *events(signal?: AbortSignal): AsyncIterableIterator<RoomEvent> {
    this.#checkOpen("read from");
    const onAbort = () => this.#wakeReaders();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!this.#closed && !signal?.aborted) {
        if (this.#queued === this.#queue.length) {
          const batch = this.poll(EVENTS_BATCH);
          if (batch.length === 0) {
            await this.#waitForMore(signal);
            continue;
          }
          // Kept in the room, not here: what a loop that breaks early leaves is read next.
          this.#queue = batch;
          this.#queued = 0;
        }
        yield this.#queue[this.#queued++];
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
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
   * import { Room } from "../../mod.ts";
   * const room = `doc-poll-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * ann.send("one");
   * ann.send("two");
   * console.log(bob.poll().map((e) => e.text)); // ["one", "two"]
   * console.log(bob.poll()); // []
   * bob.leave();
   * ann.leave();
   * ```
   */
  poll(max: number = this.#capacity): RoomEvent[] {
    const events: RoomEvent[] = [];
    this.drain((view) => {
      events.push(view.toEvent());
    }, max);
    return events;
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
   * import { Room } from "../../mod.ts";
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
   * console.log(bytes); // 3
   * bob.leave();
   * ann.leave();
   * ```
   */
  drain(handler: (event: RoomEventView) => void, max: number = this.#capacity): number {
    this.#checkOpen("read from");
    const view = this.#view;
    let handed = 0;
    while (handed < max && this.#queued < this.#queue.length && !this.#closed) {
      view.load(this.#queue[this.#queued++]);
      handed++;
      handler(view);
    }
    const i32 = this.#i32;
    const f64 = this.#f64;
    const capacity = this.#capacity;
    let missed = 0;
    let firstMissed = 0;
    let published = 0;
    let unpublished = 0;
    while (handed < max && !this.#closed) {
      const cursor = this.#cursor;
      // A busy writer rewrites the write sequence for every message; reading it for every
      // event would pull its cache line across cores each time. Read it again only once the
      // events it announced are read, or when a slot turns out to be overwritten.
      if (cursor > published) {
        published = this.#writeSeq();
        if (cursor > published) break;
      }
      if (published - cursor >= capacity) {
        const oldest = published - capacity + 1;
        if (missed === 0) firstMissed = cursor;
        missed += oldest - cursor;
        this.#cursor = oldest;
        continue;
      }
      const word = slotWord((cursor - 1) % capacity);
      const double = word >> 1;
      const version = Atomics.load(i32, word + S.I_VERSION);
      // Odd: a writer is overwriting it right now; a newer sequence: already overwritten.
      // Either way this event is gone.
      if ((version & 1) !== 0 || f64[double + S.F_SEQ] !== cursor) {
        const latest = this.#writeSeq();
        if (latest !== published) {
          // The ring may have gone round since: skip to its oldest event at once.
          published = latest;
          continue;
        }
        if (missed === 0) firstMissed = cursor;
        missed++;
        this.#cursor = cursor + 1;
        continue;
      }
      const from = i32[word + S.I_FROM];
      const to = i32[word + S.I_TO];
      const serial = i32[word + S.I_FROM_SERIAL];
      const kind = i32[word + S.I_KIND];
      const own = from === this.#id && serial === this.#serial;
      // A slot no writer fills this way (a stray kind or sender) is passed over.
      const wanted = !own && (to === 0 || to === this.#id) && KIND_NAMES[kind] !== undefined &&
        from > 0 && from <= MAX_PARTICIPANTS;
      let packet = 0;
      let time = 0;
      let length = 0;
      let name = "";
      if (wanted) {
        packet = f64[double + S.F_PACKET];
        time = f64[double + S.F_TIME];
        length = Math.max(0, Math.min(i32[word + S.I_LENGTH], MAX_PAYLOAD_BYTES));
        name = this.#senderName(from, serial, word);
        if (length > WORD_COPY_BYTES) {
          const at = (word << 2) + S.PAYLOAD;
          view.bytes.set(this.#bytes.subarray(at, at + length));
        } else {
          // Short payloads copy faster word by word than through a subarray (no allocation).
          const words = view.words;
          const first = word + (S.PAYLOAD >> 2);
          for (let k = 0, n = (length + 3) >> 2; k < n; k++) words[k] = i32[first + k];
        }
      }
      // A compare-exchange that changes nothing: reads the version with a full barrier, so
      // none of the reads above can be ordered after it. Moved on: the copy may be torn.
      if (Atomics.compareExchange(i32, word + S.I_VERSION, version, version) !== version) {
        continue;
      }
      if (!wanted) {
        this.#cursor = cursor + 1;
        continue;
      }
      if (missed > 0) {
        view.setMissed(firstMissed, missed);
        missed = 0;
        handed++;
        handler(view);
        // No room left for this event in the batch: it is read again next time.
        if (handed === max || this.#closed) break;
      }
      this.#cursor = cursor + 1;
      // Tell writers that wait for readers as we go, not only at the end of a long batch.
      if (++unpublished === CURSOR_PUBLISH_EVERY) {
        unpublished = 0;
        f64[this.#entryAt + P.F_CURSOR] = cursor + 1;
      }
      view.set(KIND_NAMES[kind], cursor, packet, time, from, name, to, length);
      handed++;
      handler(view);
    }
    if (this.#closed) return handed;
    if (missed > 0) {
      view.setMissed(firstMissed, missed);
      handed++;
      handler(view);
    }
    if (this.#closed) return handed;
    f64[this.#entryAt + P.F_CURSOR] = this.#cursor;
    // A reader busy enough never to yield to its heartbeat timer is still alive: say so, so
    // writers that wait for readers keep waiting for it.
    f64[this.#entryAt + P.F_HEARTBEAT] = Date.now();
    return handed;
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
   * import { Room } from "../../mod.ts";
   * const room = `doc-wait-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bob = Room.join(room, "bob");
   * setTimeout(() => ann.send("later"), 10);
   * let text = "";
   * while (text === "") {
   *   await bob.waitForEvents();
   *   text = bob.poll().find((e) => e.kind === "message")?.text ?? "";
   * }
   * console.log(text); // "later"
   * bob.leave();
   * ann.leave();
   * ```
   */
  async waitForEvents(signal?: AbortSignal): Promise<void> {
    this.#checkOpen("read from");
    if (this.#queued < this.#queue.length || signal?.aborted) return;
    const onAbort = () => this.#wakeReaders();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#waitForMore(signal);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** A sender's name, decoded once per participant (id and join serial). */
  #senderName(id: number, serial: number, word: number): string {
    const known = this.#senderNames[id];
    if (known !== undefined && this.#senderSerials[id] === serial) return known;
    const at = (word << 2) + S.NAME;
    const length = Math.max(0, Math.min(this.#i32[word + S.I_NAME_LENGTH], MAX_NAME_BYTES));
    const name = decoder.decode(this.#bytes.subarray(at, at + length));
    this.#senderNames[id] = name;
    this.#senderSerials[id] = serial;
    return name;
  }

  /** Waits until the write sequence moves (or a slice ends): spin, then sleep. */
  async #waitForMore(signal?: AbortSignal): Promise<void> {
    const i32 = this.#i32;
    const seen = Atomics.load(i32, H.I_SEQ_WORD);
    if (this.#f64[H.F_WRITE_SEQ] >= this.#cursor) return;
    const until = performance.now() + SPIN_MS;
    while (performance.now() < until) {
      if (Atomics.load(i32, H.I_SEQ_WORD) !== seen) return;
    }
    const wait = platform().waitOnAddress;
    if (wait === undefined) {
      await this.#poll(seen, signal);
      return;
    }
    const entry = entryWord(this.#id) + P.I_WAITING;
    // Counted (and the sleep announced) before the last look, so a writer that publishes
    // after it sees us and wakes us; a writer that published before it changed the word, so
    // the futex returns at once.
    Atomics.add(i32, H.I_WAITERS, 1);
    Atomics.add(i32, entry, 1);
    Atomics.add(i32, H.I_SLEEPS, 1);
    try {
      if (Atomics.load(i32, H.I_SEQ_WORD) === seen && !signal?.aborted) {
        await wait(this.#seqPointer, seen, WAIT_SLICE_MS);
      }
    } finally {
      // After leave() the segment is unmapped; leave() already took our count back.
      if (!this.#closed) {
        Atomics.sub(i32, entry, 1);
        Atomics.sub(i32, H.I_WAITERS, 1);
      }
    }
  }

  /** The fallback where the OS has no futex: look every 1 ms, backing off to 10 ms. */
  async #poll(seen: number, signal?: AbortSignal): Promise<void> {
    let pause = POLL_FIRST_MS;
    const deadline = performance.now() + WAIT_SLICE_MS;
    while (!this.#closed && !signal?.aborted && performance.now() < deadline) {
      if (Atomics.load(this.#i32, H.I_SEQ_WORD) !== seen) return;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, POLL_LONGEST_MS);
    }
  }

  #wakeReaders(): void {
    if (!this.#closed) platform().wakeAddress?.(this.#seqPointer, 0x7fffffff);
  }

  /**
   * Everyone in the room now, by id.
   *
   * @returns The participants.
   *
   * @example
   * ```ts
   * import { Room } from "../../mod.ts";
   * const me = Room.join(`doc-who-${crypto.randomUUID().slice(0, 8)}`, "ann");
   * console.log(me.participants()[0].pid === Deno.pid); // true
   * me.leave();
   * ```
   */
  participants(): Participant[] {
    this.#checkOpen("list");
    return readEntries(this.#views()).map(({ id, name, pid, joinedAt, heartbeat }) => ({
      id,
      name,
      pid,
      joinedAt,
      heartbeat,
    }));
  }

  /**
   * How full the ring is: its capacity in slots, how many hold an event, and the last
   * sequence number written.
   *
   * @returns The counts.
   *
   * @example
   * ```ts
   * import { Room } from "../../mod.ts";
   * const me = Room.join(`doc-stats-${crypto.randomUUID().slice(0, 8)}`, "ann", { capacity: 16 });
   * me.send("one");
   * console.log(me.stats()); // { capacity: 16, used: 2, writeSeq: 2 } (the join and "one")
   * me.leave();
   * ```
   */
  stats(): { capacity: number; used: number; writeSeq: number } {
    this.#checkOpen("read");
    const writeSeq = this.#f64[H.F_WRITE_SEQ];
    return { capacity: this.#capacity, used: Math.min(writeSeq, this.#capacity), writeSeq };
  }

  /**
   * Leaves the room: announces it, frees this entry and, if nobody else is left, removes the
   * room's shared memory. Ends this participant's event iteration. Safe to call twice.
   *
   * @example
   * ```ts
   * import { Room } from "../../mod.ts";
   * const me = Room.join(`doc-leave-${crypto.randomUUID().slice(0, 8)}`, "ann");
   * me.leave();
   * me.leave();
   * ```
   */
  leave(): void {
    if (this.#closed) return;
    clearInterval(this.#timer);
    let sleeping = 0;
    try {
      this.#lock.with(LOCK_TIMEOUT_MS, (recovered) => {
        if (recovered) this.#repair();
        const word = entryWord(this.#id);
        const mine = Atomics.load(this.#i32, word + P.I_PID) === ownIdentity().pid &&
          this.#i32[word + P.I_SERIAL] === this.#serial;
        if (mine) {
          sleeping = this.#release(this.#id);
          this.#announce(KIND_LEAVE, this.#id, this.#serial, this.#nameBytes);
        }
        // Closed already: `ipc clean` removed it, and the name may be a new room's by now.
        const closed = Atomics.load(this.#i32, H.I_STATE) === STATE_CLOSED;
        if (!closed && readEntries(this.#views()).every((e) => !isAlive(e.pid, e.start))) {
          Atomics.store(this.#i32, H.I_STATE, STATE_CLOSED);
          unlinkIfPresent(() => SharedMemory.unlink(this.#shm.name));
        }
      });
    } finally {
      // Our own sleeping reader must wake before the memory it sleeps on is unmapped.
      if (sleeping > 0) platform().wakeAddress?.(this.#seqPointer, 0x7fffffff);
      this.#closed = true;
      this.#shm.close();
    }
  }

  /** Leaves on `using`. */
  [Symbol.dispose](): void {
    this.leave();
  }

  #checkOpen(action: string): void {
    if (this.#closed) {
      throw roomError(`${action} room "${this.#room}"`, "EBADF", "this participant has left");
    }
  }
}

/** A reader's one {@link RoomEventView}, refilled for every event it hands out. */
class EventView implements RoomEventView {
  kind: RoomEvent["kind"] = "message";
  seq = 0;
  packet = 0;
  time = 0;
  fromId = 0;
  fromName = "";
  to = 0;
  missed = 0;
  length = 0;
  readonly bytes = new Uint8Array(MAX_PAYLOAD_BYTES);
  /** `bytes` as 32-bit words, for copying short payloads. */
  readonly words = new Int32Array(this.bytes.buffer);
  #text: string | undefined;

  get text(): string {
    return this.#text ??= this.length === 0
      ? ""
      : decoder.decode(this.bytes.subarray(0, this.length));
  }

  /** Refills it with an event whose payload is already in `bytes`. */
  set(
    kind: RoomEvent["kind"],
    seq: number,
    packet: number,
    time: number,
    fromId: number,
    fromName: string,
    to: number,
    length: number,
  ): void {
    this.kind = kind;
    this.seq = seq;
    this.packet = packet;
    this.time = time;
    this.fromId = fromId;
    this.fromName = fromName;
    this.to = to;
    this.missed = 0;
    this.length = length;
    this.#text = undefined;
  }

  /** Refills it with the news that `missed` events from `seq` on were lost. */
  setMissed(seq: number, missed: number): void {
    this.set("missed", seq, 0, Date.now(), 0, "", 0, 0);
    this.missed = missed;
  }

  /** Refills it from an event taken earlier. */
  load(event: RoomEvent): void {
    const { written } = encoder.encodeInto(event.text, this.bytes);
    const { kind, seq, packet, time, from, to } = event;
    this.set(kind, seq, packet, time, from.id, from.name, to, written);
    this.missed = event.missed ?? 0;
    this.#text = event.text;
  }

  toEvent(): RoomEvent {
    const event: RoomEvent = {
      kind: this.kind,
      seq: this.seq,
      packet: this.packet,
      time: this.time,
      from: { id: this.fromId, name: this.fromName },
      to: this.to,
      text: this.text,
    };
    if (this.kind === "missed") event.missed = this.missed;
    return event;
  }
}

/**
 * Reads a room segment's header and participants without joining, for `shmooze ipc ls`.
 *
 * @param segment The segment's OS name, e.g. `shmooze-1000-room-lobby`.
 * @returns What it holds.
 * @throws {IpcError} `ENOENT` if it does not exist; `ECORRUPT`, `EVERSION` or `EBADMAGIC`
 *   (as {@link Room.join}) if it is not a sound room of this version.
 *
 * @example
 * ```ts
 * import { objectName } from "../../mod.ts";
 * import { inspectRoom, Room } from "./room.ts";
 * const me = Room.join(`doc-inspect-${crypto.randomUUID().slice(0, 8)}`, "ann");
 * const info = inspectRoom(objectName("room", me.room));
 * console.log(info.participants[0].name, info.participants[0].alive); // "ann" true
 * me.leave();
 * ```
 */
export function inspectRoom(segment: string): RoomInfo {
  using shm = SharedMemory.open(segment);
  const views = roomViews(shm.buffer);
  const setUp = views.bytes.length >= RING_OFFSET &&
    Atomics.load(views.i32, H.I_STATE) !== STATE_INIT;
  const problem = setUp ? headerProblem(views) : undefined;
  if (problem !== undefined) throw segmentError("inspect room", segment, problem);
  return {
    size: shm.size,
    capacity: setUp ? views.i32[H.I_CAPACITY] : 0,
    writeSeq: setUp ? views.f64[H.F_WRITE_SEQ] : 0,
    valid: setUp && Atomics.load(views.i32, H.I_STATE) === STATE_READY,
    participants: setUp
      ? readEntries(views).map(({ id, name, pid, start, joinedAt, heartbeat }) => ({
        id,
        name,
        pid,
        joinedAt,
        heartbeat,
        alive: isAlive(pid, start),
      }))
      : [],
  };
}

/**
 * Removes a room segment if no live process is in it (everyone in it was killed, or its
 * creator died while setting it up), for `shmooze ipc clean`. A process that has it open
 * at that moment sees it marked closed and, when it next joins, makes a new one.
 *
 * @param segment The segment's OS name.
 * @param options `force`: also remove it when it is not a sound room of this version.
 * @returns True if it was removed; false if someone alive is in it.
 * @throws {IpcError} `ECORRUPT`, `EVERSION` or `EBADMAGIC` (as {@link Room.join}) if it is
 *   not a sound room of this version and `force` is not set: who is in it cannot be told.
 *
 * @example
 * ```ts
 * import { objectName } from "../../mod.ts";
 * import { removeStaleRoom, Room } from "./room.ts";
 * const me = Room.join(`doc-clean-${crypto.randomUUID().slice(0, 8)}`, "ann");
 * console.log(removeStaleRoom(objectName("room", me.room))); // false: ann is alive
 * me.leave();
 * ```
 */
export function removeStaleRoom(segment: string, options: { force?: boolean } = {}): boolean {
  const deadline = performance.now() + SETUP_WAIT_MS;
  let opened: SharedMemory | undefined;
  while (opened === undefined) {
    try {
      opened = SharedMemory.open(segment);
    } catch (error) {
      // Never sized: its creator is between shm_open and ftruncate, or died there.
      if (!(error instanceof IpcError) || error.code !== "EAGAIN") throw error;
      if (performance.now() > deadline) {
        SharedMemory.unlink(segment);
        return true;
      }
      sleepSync(1);
    }
  }
  using shm = opened;
  const views = roomViews(shm.buffer);
  const problem = setUpProblem(views, deadline);
  if (problem?.code === "EPROTO") {
    SharedMemory.unlink(segment);
    return true;
  }
  if (problem !== undefined) {
    if (!options.force) throw segmentError("clean room", segment, problem);
    // Marked closed (where the header is this version's) so that a process still in it
    // does not, on leaving, remove the new room that takes the name.
    if (problem.code === "ECORRUPT" && views.i32.length > H.I_STATE) {
      Atomics.store(views.i32, H.I_STATE, STATE_CLOSED);
    }
    unlinkIfPresent(() => SharedMemory.unlink(segment));
    return true;
  }
  const lock = new SegmentLock(shm.buffer, H.I_LOCK * 4, `room segment "${segment}"`);
  return lock.with(LOCK_TIMEOUT_MS, () => {
    if (readEntries(views).some((e) => isAlive(e.pid, e.start))) return false;
    Atomics.store(views.i32, H.I_STATE, STATE_CLOSED);
    SharedMemory.unlink(segment);
    return true;
  });
}
