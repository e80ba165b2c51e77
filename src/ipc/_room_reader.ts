/**
 * The reading side of a room: one participant's cursor through the ring, the batch read
 * every way of reading is built on ({@link RoomReader.drain}), the count of what a lapped
 * reader missed, and the one reused view it hands events out through.
 *
 * A reader copies a slot, then checks that the slot's version did not move while it copied
 * (a seqlock), so a message is never torn; a slot whose sequence number is not the one the
 * cursor expects was overwritten, and counts as missed. It publishes its cursor to the
 * participants table as it goes, for writers that wait for readers.
 *
 * @module
 */

import type { RoomEvent, RoomEventView } from "./room.ts";
import type { RoomSegment } from "./_room_segment.ts";
import { waitForWrite, wakeReaders } from "./_room_wait.ts";
import {
  KIND_JOIN,
  KIND_LEAVE,
  KIND_MESSAGE,
  MAX_NAME_BYTES,
  MAX_PARTICIPANTS,
  MAX_PAYLOAD_BYTES,
  P,
  S,
  slotWord,
} from "./_room_layout.ts";

/** Payloads up to this size are copied word by word, longer ones with one `set()`. */
const WORD_COPY_BYTES = 256;
/** How many events a long `drain()` reads between publishing its cursor to writers. */
const CURSOR_PUBLISH_EVERY = 256;
/** Events `events()` takes from the ring at a time. */
const EVENTS_BATCH = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const KIND_NAMES: RoomEvent["kind"][] = [];
KIND_NAMES[KIND_MESSAGE] = "message";
KIND_NAMES[KIND_JOIN] = "join";
KIND_NAMES[KIND_LEAVE] = "leave";

/** One participant's reading of a room. */
export class RoomReader {
  readonly #segment: RoomSegment;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #bytes: Uint8Array;
  // Numeric fields start as numbers, not undefined, so that V8 stores them unboxed: drain()
  // reads them for every event, and a field first set to undefined made it 3 % slower.
  readonly #capacity: number = 0;
  /** Who reads, as it joined: its own messages are not handed back to it. */
  readonly #id: number = 0;
  readonly #serial: number = 0;
  readonly #entryAt: number = 0;
  /** Sender names by participant id, and the join serial each was decoded for. */
  readonly #senderNames: string[] = [];
  readonly #senderSerials: number[] = [];
  readonly #view = new EventView();
  /** Events taken from the ring but not yet handed out (by `events()` or `poll()`). */
  #queue: RoomEvent[] = [];
  #queued = 0;
  #cursor = 0;

  /**
   * @param segment The participant's mapping of the room, once it has joined.
   * @param cursor The first sequence number it reads.
   */
  constructor(segment: RoomSegment, cursor: number) {
    this.#segment = segment;
    this.#i32 = segment.i32;
    this.#f64 = segment.f64;
    this.#bytes = segment.bytes;
    this.#capacity = segment.capacity;
    this.#id = segment.id;
    this.#serial = segment.serial;
    this.#entryAt = segment.entryAt;
    this.#cursor = cursor;
  }

  /**
   * The events from the cursor on, waiting when there are none; see `Room.events`.
   *
   * @param signal Stops the iteration.
   * @returns The events.
   */
  async *events(signal?: AbortSignal): AsyncIterableIterator<RoomEvent> {
    const segment = this.#segment;
    segment.checkOpen("read from");
    const onAbort = () => wakeReaders(segment);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!segment.closed && !signal?.aborted) {
        if (this.#queued === this.#queue.length) {
          const batch = this.poll(EVENTS_BATCH);
          if (batch.length === 0) {
            await waitForWrite(segment, this.#cursor, signal);
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
   * Takes the events available now; see `Room.poll`.
   *
   * @param max The most events to return.
   * @returns The events.
   */
  poll(max: number): RoomEvent[] {
    const events: RoomEvent[] = [];
    this.drain((view) => {
      events.push(view.toEvent());
    }, max);
    return events;
  }

  /**
   * Hands the events available now to `handler`; see `Room.drain`.
   *
   * @param handler Called once per event, in order.
   * @param max The most events to hand out.
   * @returns How many it handed out.
   */
  drain(handler: (event: RoomEventView) => void, max: number): number {
    const segment = this.#segment;
    segment.checkOpen("read from");
    const view = this.#view;
    let handed = 0;
    while (handed < max && this.#queued < this.#queue.length && !segment.closed) {
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
    while (handed < max && !segment.closed) {
      const cursor = this.#cursor;
      // A busy writer rewrites the write sequence for every message; reading it for every
      // event would pull its cache line across cores each time. Read it again only once the
      // events it announced are read, or when a slot turns out to be overwritten.
      if (cursor > published) {
        published = segment.writeSeq();
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
        const latest = segment.writeSeq();
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
        if (handed === max || segment.closed) break;
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
    if (segment.closed) return handed;
    if (missed > 0) {
      view.setMissed(firstMissed, missed);
      handed++;
      handler(view);
    }
    if (segment.closed) return handed;
    f64[this.#entryAt + P.F_CURSOR] = this.#cursor;
    // A reader busy enough never to yield to its heartbeat timer is still alive: say so, so
    // writers that wait for readers keep waiting for it.
    f64[this.#entryAt + P.F_HEARTBEAT] = Date.now();
    return handed;
  }

  /**
   * Resolves when events may be available; see `Room.waitForEvents`.
   *
   * @param signal Ends the wait early.
   */
  async waitForEvents(signal?: AbortSignal): Promise<void> {
    const segment = this.#segment;
    segment.checkOpen("read from");
    if (this.#queued < this.#queue.length || signal?.aborted) return;
    const onAbort = () => wakeReaders(segment);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await waitForWrite(segment, this.#cursor, signal);
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
