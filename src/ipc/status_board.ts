/**
 * The status board of seed 001: one small named shared memory segment per running server
 * that says how it is doing — clients, channels, message counts and rate, uptime, pid and the
 * last message. The server is the only writer; any local process reads it without a lock.
 *
 * Why a seqlock and not the seed's mutex: a reader holding a mutex can stall the server
 * (or, if killed while holding it, block it for good). With a sequence counter the writer
 * never waits: it makes the counter odd, writes, and makes it even again; a reader copies the
 * record and keeps the copy only if the counter was even and unchanged around it. Readers
 * retry instead of blocking the writer, and a dead reader leaves nothing behind.
 *
 * Every word of the shared record is moved with `Atomics.load`/`Atomics.store`, which are
 * sequentially consistent in the JavaScript memory model, so neither the compiler nor the
 * CPU can move a data word across the sequence counter.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { objectName } from "./names.ts";
import { platform } from "./platform.ts";
import { SharedMemory } from "./shared_memory.ts";

/** What the server publishes: its counters at one moment. */
export interface StatusUpdate {
  /** Connected clients over all transports. */
  clients: number;
  /**
   * Connected clients per transport. The board stores {@link STATUS_TRANSPORTS}; any other
   * name is counted under `other`.
   */
  clientsByTransport?: Record<string, number>;
  /** Channels that exist. */
  channels: number;
  /** Chat messages accepted since the server started. */
  totalMessages: number;
  /** The recent message rate, as the server computes it. */
  messagesPerSecond: number;
  /**
   * The last chat message. Sender and target are cut to {@link STATUS_NAME_BYTES} and the
   * text to {@link STATUS_TEXT_BYTES} bytes of UTF-8, at a character boundary.
   */
  lastMessage?: { sender: string; target: string; text: string; time: number };
}

/** What a reader sees: the last update plus who wrote it and whether it is still alive. */
export interface StatusSnapshot extends StatusUpdate {
  /** The server's process id. */
  pid: number;
  /** The port the board belongs to. */
  port: number;
  /** When the server created the board, ms since the epoch. */
  startedAt: number;
  /** When the server last published, ms since the epoch. */
  updatedAt: number;
  /** How long the server has run (until its last update, when it is gone). */
  uptimeMs: number;
  /** True when the writer's pid no longer exists: the numbers are frozen. */
  stale: boolean;
}

/** The transports the board has a counter for, in display order. */
export const STATUS_TRANSPORTS: readonly string[] = ["tcp", "tls", "websocket", "local"];

/** Longest last-message text kept, in bytes of UTF-8 (the seeds' 1 KiB buffer). */
export const STATUS_TEXT_BYTES = 1024;

/** Longest last-message sender or target kept, in bytes of UTF-8. */
export const STATUS_NAME_BYTES = 256;

/** "SZSB" (shmooze status board) read as a little-endian word. */
const MAGIC = 0x4253_5a53;
const VERSION = 1;

// Header words. Magic, version and pid stay at these offsets in every future version, so an
// old reader can still tell whose board it is and why it cannot read it.
const H_MAGIC = 0;
const H_VERSION = 1;
const H_PID = 2;
const H_SEQ = 3;
const H_RECORD_BYTES = 4;
const HEADER_BYTES = 32;

// Record byte offsets (the record is copied as whole words through a private staging buffer).
const R_PORT = 0;
const R_CLIENTS = 4;
const R_STARTED = 8;
const R_UPDATED = 16;
const R_TOTAL = 24;
const R_RATE = 32;
const R_CHANNELS = 40;
const R_TRANSPORTS = 44; // STATUS_TRANSPORTS then "other", u32 each
const R_HAS_LAST = 64;
const R_SENDER_LEN = 68;
const R_TARGET_LEN = 72;
const R_TEXT_LEN = 76;
const R_LAST_TIME = 80;
const R_SENDER = 88;
const R_TARGET = R_SENDER + STATUS_NAME_BYTES;
const R_TEXT = R_TARGET + STATUS_NAME_BYTES;
const RECORD_BYTES = R_TEXT + STATUS_TEXT_BYTES;
const RECORD_WORDS = RECORD_BYTES / 4;
const SEGMENT_BYTES = HEADER_BYTES + RECORD_BYTES;

/** How long a reader keeps retrying while the writer is mid-update before saying "busy". */
const READ_BUDGET_MS = 250;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The board's OS name for a port. */
function boardName(port: number): string {
  return objectName("status", String(port));
}

/** Writes `text` as UTF-8 into `target`, cut at a character boundary; returns the length. */
function writeText(text: string, target: Uint8Array): number {
  // encodeInto never writes part of a character, so a cut lands on a boundary.
  return encoder.encodeInto(text, target).written;
}

function checkPort(port: number, action: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IpcError(action, "StatusBoard", "EINVAL", 0, {
      reason: `the port must be a whole number from 0 to 65535, not ${port}`,
    });
  }
}

/** Throws unless the mapped segment is a status board this code can read. */
function checkHeader(shm: SharedMemory, action: string): Int32Array {
  if (shm.size < HEADER_BYTES) {
    throw new IpcError(action, "StatusBoard", "EBADMAGIC", 0, {
      objectName: shm.name,
      reason: `it is not a shmooze status board (only ${shm.size} bytes)`,
    });
  }
  const words = new Int32Array(shm.buffer, 0, shm.size >>> 2);
  const magic = Atomics.load(words, H_MAGIC) >>> 0;
  if (magic === 0) {
    throw new IpcError(action, "StatusBoard", "EAGAIN", 0, {
      objectName: shm.name,
      reason: "its server is still creating it",
    });
  }
  if (magic !== MAGIC) {
    throw new IpcError(action, "StatusBoard", "EBADMAGIC", 0, {
      objectName: shm.name,
      reason: `it is not a shmooze status board (magic 0x${magic.toString(16)}, expected 0x${
        MAGIC.toString(16)
      })`,
    });
  }
  const version = Atomics.load(words, H_VERSION);
  if (version !== VERSION || shm.size < SEGMENT_BYTES) {
    throw new IpcError(action, "StatusBoard", "EVERSION", 0, {
      objectName: shm.name,
      reason: `it has layout version ${version} (pid ${
        Atomics.load(words, H_PID)
      }); this shmooze reads version ${VERSION}`,
    });
  }
  return words;
}

/** Copies the record out under the seqlock: a consistent copy, or EBUSY after the budget. */
function copyRecord(shm: SharedMemory, words: Int32Array): DataView {
  const copy = new Int32Array(RECORD_WORDS);
  const base = HEADER_BYTES / 4;
  const deadline = Date.now() + READ_BUDGET_MS;
  for (let attempt = 0;; attempt++) {
    const before = Atomics.load(words, H_SEQ);
    if ((before & 1) === 0) {
      for (let i = 0; i < RECORD_WORDS; i++) copy[i] = Atomics.load(words, base + i);
      if (Atomics.load(words, H_SEQ) === before) return new DataView(copy.buffer);
    }
    // Checking the clock every try would cost more than the copy itself.
    if ((attempt & 63) === 63 && Date.now() > deadline) {
      throw new IpcError("read status board", "StatusBoard", "EBUSY", 0, {
        objectName: shm.name,
        reason: `its server kept it mid-update for ${READ_BUDGET_MS} ms; try again`,
      });
    }
  }
}

function decodeSnapshot(pid: number, record: DataView): StatusSnapshot {
  const bytes = new Uint8Array(record.buffer);
  const u32 = (offset: number) => record.getUint32(offset, true);
  const f64 = (offset: number) => record.getFloat64(offset, true);
  const clientsByTransport: Record<string, number> = {};
  [...STATUS_TRANSPORTS, "other"].forEach((transport, i) => {
    const count = u32(R_TRANSPORTS + 4 * i);
    if (transport !== "other" || count > 0) clientsByTransport[transport] = count;
  });
  const startedAt = f64(R_STARTED);
  const updatedAt = f64(R_UPDATED);
  const stale = !platform().isAlive(pid);
  const snapshot: StatusSnapshot = {
    pid,
    port: u32(R_PORT),
    startedAt,
    updatedAt,
    uptimeMs: Math.max(0, (stale ? updatedAt : Date.now()) - startedAt),
    stale,
    clients: u32(R_CLIENTS),
    clientsByTransport,
    channels: u32(R_CHANNELS),
    totalMessages: f64(R_TOTAL),
    messagesPerSecond: f64(R_RATE),
  };
  if (u32(R_HAS_LAST) === 1) {
    const text = (offset: number, length: number) =>
      decoder.decode(bytes.subarray(offset, offset + length));
    snapshot.lastMessage = {
      sender: text(R_SENDER, Math.min(u32(R_SENDER_LEN), STATUS_NAME_BYTES)),
      target: text(R_TARGET, Math.min(u32(R_TARGET_LEN), STATUS_NAME_BYTES)),
      text: text(R_TEXT, Math.min(u32(R_TEXT_LEN), STATUS_TEXT_BYTES)),
      time: f64(R_LAST_TIME),
    };
  }
  return snapshot;
}

/** Reads the board in an already opened segment. */
function readSegment(shm: SharedMemory): StatusSnapshot {
  const words = checkHeader(shm, "read status board");
  const record = copyRecord(shm, words);
  return decodeSnapshot(Atomics.load(words, H_PID), record);
}

/** Names of this user's boards that exist now. */
function boardNames(): string[] {
  const prefix = boardName(0).slice(0, -1);
  if (Deno.build.os === "linux") {
    return [...Deno.readDirSync("/dev/shm")]
      .map((entry) => entry.name)
      .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)));
  }
  // macOS and Windows cannot list named segments: look where a default server would be.
  return [boardName(54000)];
}

/**
 * A server's status board (seed 001): a named segment `shmooze-<uid>-status-<port>`,
 * written by the server alone and read by anyone without a lock (a seqlock, see the module
 * documentation).
 *
 * @example Publish, read from "another process", close
 * ```ts
 * import { StatusBoard } from "../../mod.ts";
 * const port = 10000 + (Deno.pid % 10000);
 * const board = StatusBoard.create(port);
 * board.publish({ clients: 2, channels: 1, totalMessages: 5, messagesPerSecond: 0.5 });
 * const seen = StatusBoard.read(port);
 * console.log(seen.clients, seen.stale); // 2 false
 * board.close();
 * ```
 */
export class StatusBoard {
  readonly #shm: SharedMemory;
  readonly #words: Int32Array;
  readonly #staging = new DataView(new ArrayBuffer(RECORD_BYTES));
  readonly #stagingWords = new Int32Array(this.#staging.buffer);
  readonly #stagingBytes = new Uint8Array(this.#staging.buffer);
  /** The port this board describes. */
  readonly port: number;
  /** When the board was created, ms since the epoch. */
  readonly startedAt: number;

  private constructor(shm: SharedMemory, port: number) {
    this.#shm = shm;
    this.port = port;
    this.startedAt = Date.now();
    this.#words = new Int32Array(shm.buffer, 0, SEGMENT_BYTES / 4);
  }

  /**
   * Creates the board for a port. A board left by a dead server is reclaimed; one whose
   * server is alive is refused.
   *
   * @param port The port the server listens on (the real one, when 0 was asked).
   * @returns The board, published once with zero counters.
   * @throws {IpcError} `EBUSY` naming the pid when a live server owns the board.
   *
   * @example
   * ```ts
   * import { StatusBoard } from "../../mod.ts";
   * const board = StatusBoard.create(10000 + (Deno.pid % 10000));
   * console.log(StatusBoard.read(board.port).clients); // 0
   * board.close();
   * ```
   */
  static create(port: number): StatusBoard {
    checkPort(port, "create status board");
    const name = boardName(port);
    let shm: SharedMemory;
    try {
      shm = SharedMemory.create(name, SEGMENT_BYTES);
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "EEXIST") throw error;
      StatusBoard.#reclaim(name);
      shm = SharedMemory.create(name, SEGMENT_BYTES);
    }
    const board = new StatusBoard(shm, port);
    const words = board.#words;
    Atomics.store(words, H_PID, platform().pid());
    Atomics.store(words, H_VERSION, VERSION);
    Atomics.store(words, H_RECORD_BYTES, RECORD_BYTES);
    board.publish({ clients: 0, channels: 0, totalMessages: 0, messagesPerSecond: 0 });
    // Magic last: a reader that sees it sees a complete first record.
    Atomics.store(words, H_MAGIC, MAGIC);
    return board;
  }

  /** Removes an existing board unless a live process owns it. */
  static #reclaim(name: string): void {
    let pid = 0;
    try {
      using old = SharedMemory.open(name);
      if (old.size >= HEADER_BYTES) {
        pid = Atomics.load(new Int32Array(old.buffer, 0, HEADER_BYTES / 4), H_PID);
      }
    } catch (error) {
      // Gone in between, or never sized by a creator that died: either way nobody owns it.
      if (!(error instanceof IpcError) || !["ENOENT", "EAGAIN"].includes(error.code)) {
        throw error;
      }
    }
    if (pid !== platform().pid() && platform().isAlive(pid)) {
      throw new IpcError("create status board", "StatusBoard", "EBUSY", 0, {
        objectName: name,
        reason: `a running server (pid ${pid}) owns it; stop that server or use another port`,
      });
    }
    unlinkIfPresent(() => SharedMemory.unlink(name));
  }

  /**
   * Publishes the server's counters. Single writer; never blocks, whatever readers do.
   *
   * @param update The counters now.
   *
   * @example
   * ```ts
   * import { StatusBoard } from "../../mod.ts";
   * const board = StatusBoard.create(10000 + (Deno.pid % 10000));
   * board.publish({
   *   clients: 1,
   *   clientsByTransport: { tcp: 1 },
   *   channels: 1,
   *   totalMessages: 1,
   *   messagesPerSecond: 1,
   *   lastMessage: { sender: "ann", target: "#lobby", text: "hi", time: Date.now() },
   * });
   * console.log(StatusBoard.read(board.port).lastMessage?.text); // "hi"
   * board.close();
   * ```
   */
  publish(update: StatusUpdate): void {
    if (this.#shm.closed) {
      throw new IpcError("publish status", "StatusBoard", "EBADF", 0, {
        objectName: this.#shm.name,
        reason: "the board is closed",
      });
    }
    const record = this.#staging;
    const u32 = (offset: number, value: number) =>
      record.setUint32(offset, Math.max(0, Math.min(0xffffffff, Math.trunc(value) || 0)), true);
    record.setUint32(R_PORT, this.port, true);
    u32(R_CLIENTS, update.clients);
    record.setFloat64(R_STARTED, this.startedAt, true);
    record.setFloat64(R_UPDATED, Date.now(), true);
    record.setFloat64(R_TOTAL, update.totalMessages, true);
    record.setFloat64(R_RATE, update.messagesPerSecond, true);
    u32(R_CHANNELS, update.channels);
    const counts = new Array<number>(STATUS_TRANSPORTS.length + 1).fill(0);
    for (const [transport, count] of Object.entries(update.clientsByTransport ?? {})) {
      const index = STATUS_TRANSPORTS.indexOf(transport);
      counts[index === -1 ? STATUS_TRANSPORTS.length : index] += count;
    }
    counts.forEach((count, i) => u32(R_TRANSPORTS + 4 * i, count));
    const last = update.lastMessage;
    u32(R_HAS_LAST, last === undefined ? 0 : 1);
    const bytes = this.#stagingBytes;
    const field = (offset: number, size: number, text = "") =>
      writeText(text, bytes.subarray(offset, offset + size));
    u32(R_SENDER_LEN, field(R_SENDER, STATUS_NAME_BYTES, last?.sender));
    u32(R_TARGET_LEN, field(R_TARGET, STATUS_NAME_BYTES, last?.target));
    u32(R_TEXT_LEN, field(R_TEXT, STATUS_TEXT_BYTES, last?.text));
    record.setFloat64(R_LAST_TIME, last?.time ?? 0, true);

    const words = this.#words;
    const staged = this.#stagingWords;
    const base = HEADER_BYTES / 4;
    Atomics.add(words, H_SEQ, 1); // odd: readers retry
    for (let i = 0; i < RECORD_WORDS; i++) Atomics.store(words, base + i, staged[i]);
    Atomics.add(words, H_SEQ, 1); // even: the record is whole again
  }

  /**
   * Removes the board: unmaps it and unlinks its name. Safe to call twice.
   *
   * @example
   * ```ts
   * import { StatusBoard } from "../../mod.ts";
   * const board = StatusBoard.create(10000 + (Deno.pid % 10000));
   * board.close();
   * board.close();
   * ```
   */
  close(): void {
    if (this.#shm.closed) return;
    this.#shm.close();
    unlinkIfPresent(() => SharedMemory.unlink(this.#shm.name));
  }

  /** Closes on `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Reads a server's board without a lock and without network.
   *
   * @param port The server's port.
   * @returns A consistent snapshot; `stale` is true when the server's pid is gone.
   * @throws {IpcError} `ENOENT` when no board exists for the port, `EBADMAGIC`/`EVERSION`
   * for a segment that is not a board this version reads, `EBUSY` when the writer stayed
   * mid-update for the whole read budget.
   *
   * @example
   * ```ts
   * import { IpcError, StatusBoard } from "../../mod.ts";
   * try {
   *   StatusBoard.read(1);
   * } catch (error) {
   *   console.log(error instanceof IpcError && error.code); // "ENOENT"
   * }
   * ```
   */
  static read(port: number): StatusSnapshot {
    checkPort(port, "read status board");
    using shm = SharedMemory.open(boardName(port));
    return readSegment(shm);
  }

  /**
   * Every board of this user, live or stale, by port. On Linux it lists `/dev/shm`; macOS
   * and Windows cannot list named segments, so there it finds only the default port 54000.
   * Boards that vanish or cannot be read while listing are skipped.
   *
   * @returns The snapshots, sorted by port.
   *
   * @example
   * ```ts
   * import { StatusBoard } from "../../mod.ts";
   * const board = StatusBoard.create(10000 + (Deno.pid % 10000));
   * console.log(StatusBoard.list().some((s) => s.port === board.port)); // true
   * board.close();
   * ```
   */
  static list(): StatusSnapshot[] {
    const snapshots: StatusSnapshot[] = [];
    for (const name of boardNames()) {
      try {
        using shm = SharedMemory.open(name);
        snapshots.push(readSegment(shm));
      } catch (error) {
        if (!(error instanceof IpcError)) throw error;
      }
    }
    return snapshots.sort((a, b) => a.port - b.port);
  }
}
