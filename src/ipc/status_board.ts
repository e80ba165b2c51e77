// Over 600 lines: about half is documentation and runnable examples; the code is ~350 lines.
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
 * A board is private to its server, so its name need not be the expected one: when another
 * user has already made a file of that name (squatting, to stop the server from starting),
 * the server takes a fresh name with a random suffix, and readers find it by listing this
 * user's boards (Linux; macOS and Windows cannot list, so there only the first name is
 * found). The other user's file is never opened for writing nor removed.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { isAlive, ownIdentity } from "./_liveness.ts";
import { objectName } from "./names.ts";
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
  /** The server as a node of a cluster (`serve --cluster`); none when it runs alone. */
  cluster?: StatusCluster;
}

/** Another node, as a node of a cluster sees it. */
export interface StatusPeer {
  /** Its name (cut to {@link STATUS_NAME_BYTES} bytes of UTF-8). */
  node: string;
  /** Its users. */
  users: number;
  /** The last log sequence it said it applied (0: not heard yet). */
  applied: number;
  /** Milliseconds since it was last heard from, when published. */
  silentMs: number;
}

/** A server's numbers as a node of a cluster. */
export interface StatusCluster {
  /** The cluster's name (cut to 64 bytes). */
  cluster: string;
  /** This node's name (cut to {@link STATUS_NAME_BYTES} bytes). */
  node: string;
  /** Its link to the cluster's bus; `unknown` when the bus does not tell. */
  bus: "connected" | "reconnecting" | "closed" | "unknown";
  /** The last log sequence it applied. */
  applied: number;
  /** The log's last sequence, as it last asked. */
  head: number;
  /** Entries it is behind the log's last sequence. */
  lag: number;
  /** Log entries it refused as invalid. */
  refused: number;
  /** Users connected to this node. */
  localClients: number;
  /** What its bus carried since it opened. */
  traffic: { inBytes: number; outBytes: number; inMsgs: number; outMsgs: number };
  /** The other nodes it knows of; the board keeps the first {@link STATUS_PEERS}. */
  peers: StatusPeer[];
  /** How many other nodes there were in all (more than `peers` holds when past the board's room). */
  peerCount?: number;
}

/** What a reader sees: the last update plus who wrote it and whether it is still alive. */
export interface StatusSnapshot extends StatusUpdate {
  /**
   * The segment it was read from: `shmooze-<uid>-status-<port>`, or that with a suffix
   * (`.k3x9qz`) when another user had taken the name.
   */
  name: string;
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
  /**
   * True when the writer no longer runs (gone, a zombie, or its pid now another process's):
   * the numbers are frozen.
   */
  stale: boolean;
}

/**
 * The transports the board has a counter for, in display order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STATUS_TRANSPORTS } from "./mod.ts";
 *
 * // `shmooze status` lists them in this order; any other transport counts as "other".
 * assert.deepEqual(STATUS_TRANSPORTS, ["tcp", "tls", "websocket", "local"]);
 * ```
 */
export const STATUS_TRANSPORTS: readonly string[] = ["tcp", "tls", "websocket", "local"];

/**
 * Longest last-message text kept, in bytes of UTF-8 (the seeds' 1 KiB buffer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STATUS_TEXT_BYTES, StatusBoard } from "./mod.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using board = StatusBoard.create(listener.addr.port);
 * const lastMessage = { sender: "ann", target: "#lobby", text: "é".repeat(600), time: 0 };
 * board.publish({ clients: 1, channels: 1, totalMessages: 1, messagesPerSecond: 0, lastMessage });
 * // Cut to 1024 bytes: 512 two-byte characters, never half of one.
 * assert.equal(StatusBoard.read(board.port).lastMessage?.text, "é".repeat(STATUS_TEXT_BYTES / 2));
 * ```
 */
export const STATUS_TEXT_BYTES = 1024;

/**
 * Longest last-message sender or target kept, in bytes of UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STATUS_NAME_BYTES, StatusBoard } from "./mod.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using board = StatusBoard.create(listener.addr.port);
 * const lastMessage = { sender: "a".repeat(300), target: "#lobby", text: "hi", time: 0 };
 * board.publish({ clients: 1, channels: 1, totalMessages: 1, messagesPerSecond: 0, lastMessage });
 * assert.equal(StatusBoard.read(board.port).lastMessage?.sender.length, STATUS_NAME_BYTES);
 * ```
 */
export const STATUS_NAME_BYTES = 256;

/**
 * The most other nodes a board lists (the count of all is kept: `peerCount`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STATUS_PEERS, StatusBoard } from "./mod.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using board = StatusBoard.create(listener.addr.port);
 * const peers = Array.from({ length: 40 }, (_, i) => ({ node: `n${i}`, users: 1, applied: 3, silentMs: 0 }));
 * const traffic = { inBytes: 0, outBytes: 0, inMsgs: 0, outMsgs: 0 };
 * board.publish({
 *   clients: 0, channels: 1, totalMessages: 0, messagesPerSecond: 0,
 *   cluster: { cluster: "team", node: "a-1", bus: "connected", applied: 3, head: 3, lag: 0,
 *     refused: 0, localClients: 0, traffic, peers },
 * });
 * const seen = StatusBoard.read(board.port).cluster;
 * assert.equal(seen?.peers.length, STATUS_PEERS);
 * assert.equal(seen?.peerCount, 40);
 * ```
 */
export const STATUS_PEERS = 32;

/** "SZSB" (shmooze status board) read as a little-endian word. */
const MAGIC = 0x4253_5a53;
/**
 * 2 added the cluster part after version 1's record. A reader of 1 refuses a board of 2 by its
 * version word (EVERSION, naming it); this reader reads both.
 */
const VERSION = 2;
const BUS_STATES = ["unknown", "connected", "reconnecting", "closed"] as const;

// Header words. Magic, version and pid stay at these offsets in every future version, so an
// old reader can still tell whose board it is and why it cannot read it.
const H_MAGIC = 0;
const H_VERSION = 1;
const H_PID = 2;
const H_SEQ = 3;
const H_RECORD_BYTES = 4;
/** The writer's start time (see `_liveness.ts`), stored before the magic. */
const H_START = 5;
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
const V1_RECORD_BYTES = R_TEXT + STATUS_TEXT_BYTES;
// The cluster part (version 2).
const C = V1_RECORD_BYTES;
const C_HAS = C;
const C_BUS = C + 4;
const C_LOCAL = C + 8;
const C_PEER_COUNT = C + 12;
const C_APPLIED = C + 16;
const C_HEAD = C + 24;
const C_LAG = C + 32;
const C_REFUSED = C + 40;
const C_TRAFFIC = C + 48; // inBytes, outBytes, inMsgs, outMsgs: f64 each
const C_NODE_LEN = C + 80;
const C_CLUSTER_LEN = C + 84;
const C_NODE = C + 88;
const CLUSTER_NAME_BYTES = 64;
const C_CLUSTER = C_NODE + STATUS_NAME_BYTES;
const C_PEERS = C_CLUSTER + CLUSTER_NAME_BYTES;
// Each peer: name length u32, users u32, applied f64, silentMs f64, name.
const P_USERS = 4;
const P_APPLIED = 8;
const P_SILENT = 16;
const P_NAME = 24;
const PEER_BYTES = P_NAME + STATUS_NAME_BYTES;
const RECORD_BYTES = C_PEERS + STATUS_PEERS * PEER_BYTES;
const RECORD_WORDS = RECORD_BYTES / 4;
const SEGMENT_BYTES = HEADER_BYTES + RECORD_BYTES;
const TRAFFIC_KEYS = ["inBytes", "outBytes", "inMsgs", "outMsgs"] as const;

/** How long a reader keeps retrying while the writer is mid-update before saying "busy". */
const READ_BUDGET_MS = 250;

/** The port whose board is looked for where boards cannot be listed (macOS, Windows). */
const DEFAULT_PORT = 54000;

/** Why opening an existing name failed when the object is not ours to use or remove. */
const NOT_OURS = ["EOWNER", "EACCES", "ELOOP"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The board's first-choice OS name for a port. */
function boardName(port: number): string {
  return objectName("status", String(port));
}

/** A name for the port's board that nobody can have taken in advance. */
function freshName(port: number): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36).padStart(7, "0");
  return `${boardName(port)}.${random}`;
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

/**
 * Throws unless the mapped segment is a status board this code can read; gives its words and
 * the size of its record (version 1's is shorter).
 */
function checkHeader(
  shm: SharedMemory,
  action: string,
): { words: Int32Array; recordBytes: number } {
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
  const recordBytes = version === 1 ? V1_RECORD_BYTES : RECORD_BYTES;
  if ((version !== 1 && version !== VERSION) || shm.size < HEADER_BYTES + recordBytes) {
    throw new IpcError(action, "StatusBoard", "EVERSION", 0, {
      objectName: shm.name,
      reason: `it has layout version ${version} (pid ${
        Atomics.load(words, H_PID)
      }); this shmooze reads versions 1 to ${VERSION}`,
    });
  }
  return { words, recordBytes };
}

/**
 * How many words of a version-2 record are in use, from its words as `word(i)` gives them: the
 * cluster part's flag, and with a cluster part its numbers and the peers it lists. The writer
 * stores and the reader copies only these (without a cluster part, about version 1's size).
 */
function usedWords(word: (i: number) => number): number {
  if (word(C_HAS / 4) !== 1) return (C_HAS + 4) / 4;
  const peers = Math.min(word(C_PEER_COUNT / 4) >>> 0, STATUS_PEERS);
  return (C_PEERS + peers * PEER_BYTES) / 4;
}

/** Copies the record out under the seqlock: a consistent copy, or EBUSY after the budget. */
function copyRecord(shm: SharedMemory, words: Int32Array, recordBytes: number): DataView {
  const recordWords = recordBytes / 4;
  const copy = new Int32Array(recordWords);
  const base = HEADER_BYTES / 4;
  const deadline = Date.now() + READ_BUDGET_MS;
  for (let attempt = 0;; attempt++) {
    const before = Atomics.load(words, H_SEQ);
    if ((before & 1) === 0) {
      // Only the words in use: a longer copy is likelier to overlap the writer's next update.
      const used = recordWords === RECORD_WORDS
        ? usedWords((i) => Atomics.load(words, base + i))
        : recordWords;
      for (let i = 0; i < used; i++) copy[i] = Atomics.load(words, base + i);
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

function decodeSnapshot(
  name: string,
  writer: { pid: number; start: number },
  record: DataView,
): StatusSnapshot {
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
  const stale = !isAlive(writer.pid, writer.start);
  const snapshot: StatusSnapshot = {
    name,
    pid: writer.pid,
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
  if (record.byteLength >= RECORD_BYTES && u32(C_HAS) === 1) {
    const text = (offset: number, length: number, size: number) =>
      decoder.decode(bytes.subarray(offset, offset + Math.min(length, size)));
    const peerCount = u32(C_PEER_COUNT);
    const peers: StatusPeer[] = [];
    for (let i = 0; i < Math.min(peerCount, STATUS_PEERS); i++) {
      const at = C_PEERS + i * PEER_BYTES;
      peers.push({
        node: text(at + P_NAME, u32(at), STATUS_NAME_BYTES),
        users: u32(at + P_USERS),
        applied: f64(at + P_APPLIED),
        silentMs: f64(at + P_SILENT),
      });
    }
    const [inBytes, outBytes, inMsgs, outMsgs] = TRAFFIC_KEYS.map((_, i) => f64(C_TRAFFIC + 8 * i));
    snapshot.cluster = {
      cluster: text(C_CLUSTER, u32(C_CLUSTER_LEN), CLUSTER_NAME_BYTES),
      node: text(C_NODE, u32(C_NODE_LEN), STATUS_NAME_BYTES),
      bus: BUS_STATES[u32(C_BUS)] ?? "unknown",
      applied: f64(C_APPLIED),
      head: f64(C_HEAD),
      lag: f64(C_LAG),
      refused: f64(C_REFUSED),
      localClients: u32(C_LOCAL),
      traffic: { inBytes, outBytes, inMsgs, outMsgs },
      peers,
      peerCount,
    };
  }
  return snapshot;
}

/** Reads the board in an already opened segment. */
function readSegment(shm: SharedMemory): StatusSnapshot {
  const { words, recordBytes } = checkHeader(shm, "read status board");
  const record = copyRecord(shm, words, recordBytes);
  const writer = { pid: Atomics.load(words, H_PID), start: Atomics.load(words, H_START) >>> 0 };
  return decodeSnapshot(shm.name, writer, record);
}

/**
 * The names in /dev/shm; undefined where they cannot be listed: not on Linux, or, for one
 * port's board, without the permission (Deno lets only --allow-all read /dev/shm).
 */
function sharedMemoryNames(forOnePort: boolean): string[] | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    return [...Deno.readDirSync("/dev/shm")].map((entry) => entry.name);
  } catch (error) {
    if (forOnePort && error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Names of the boards that exist now, for one port or all, under their first or a fresh
 * name. Another user's files may be among them: opening one is refused (`EOWNER`). Where
 * /dev/shm cannot be listed, the first-choice name of the port (or of 54000) only.
 */
function boardNames(port?: number): string[] {
  const names = sharedMemoryNames(port !== undefined);
  if (names === undefined) return [boardName(port ?? DEFAULT_PORT)];
  const prefix = boardName(0).slice(0, -1);
  return names
    .filter((name) => {
      const match = /^(\d+)(\.[a-z0-9]+)?$/.exec(name.slice(prefix.length));
      return name.startsWith(prefix) && match !== null &&
        (port === undefined || Number(match[1]) === port);
    })
    .sort();
}

/** Reads every board it can among `names`; the first refusal, if any, for when none could be. */
function readBoards(names: string[]): { boards: StatusSnapshot[]; refusal?: IpcError } {
  const boards: StatusSnapshot[] = [];
  let refusal: IpcError | undefined;
  for (const name of names) {
    try {
      using shm = SharedMemory.open(name);
      boards.push(readSegment(shm));
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      if (error.code !== "ENOENT") refusal ??= error;
    }
  }
  return { boards, refusal };
}

/**
 * A server's status board (seed 001): a named segment `shmooze-<uid>-status-<port>` (with
 * a random suffix if another user took that name first), written by the server alone and
 * read by this user's processes without a lock (a seqlock, see the module documentation).
 *
 * The board of a port belongs to whoever listens on it: the examples hold a port of their
 * own, so no other program (or test) running at the same time can use the same board.
 *
 * @example Publish, read from "another process", close
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusBoard } from "./mod.ts";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const board = StatusBoard.create(listener.addr.port);
 * board.publish({ clients: 2, channels: 1, totalMessages: 5, messagesPerSecond: 0.5 });
 * const seen = StatusBoard.read(listener.addr.port);
 * assert.equal(seen.clients, 2);
 * assert.equal(seen.stale, false);
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

  /** The segment's name: `shmooze-<uid>-status-<port>`, or a fresh one (see the class). */
  get name(): string {
    return this.#shm.name;
  }

  private constructor(shm: SharedMemory, port: number) {
    this.#shm = shm;
    this.port = port;
    this.startedAt = Date.now();
    this.#words = new Int32Array(shm.buffer, 0, SEGMENT_BYTES / 4);
  }

  /**
   * Creates the board for a port. Boards of this user left by a dead server are reclaimed;
   * one whose server is alive is refused. When another user has taken the board's name, the
   * board gets a fresh one ({@link StatusBoard.read} finds it on Linux).
   *
   * @param port The port the server listens on (the real one, when 0 was asked).
   * @returns The board, published once with zero counters.
   * @throws {IpcError} `EBUSY` naming the pid when a live server owns the board.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const board = StatusBoard.create(listener.addr.port);
   * assert.equal(StatusBoard.read(board.port).clients, 0);
   * board.close();
   * ```
   */
  static create(port: number): StatusBoard {
    checkPort(port, "create status board");
    const name = boardName(port);
    for (const other of boardNames(port)) {
      if (other !== name) StatusBoard.#reclaim(other);
    }
    let shm: SharedMemory;
    try {
      shm = SharedMemory.create(name, SEGMENT_BYTES);
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "EEXIST") throw error;
      const ours = StatusBoard.#reclaim(name);
      shm = SharedMemory.create(ours ? name : freshName(port), SEGMENT_BYTES);
    }
    const board = new StatusBoard(shm, port);
    const words = board.#words;
    const me = ownIdentity();
    Atomics.store(words, H_PID, me.pid);
    Atomics.store(words, H_START, me.start);
    Atomics.store(words, H_VERSION, VERSION);
    Atomics.store(words, H_RECORD_BYTES, RECORD_BYTES);
    board.publish({ clients: 0, channels: 0, totalMessages: 0, messagesPerSecond: 0 });
    // Magic last: a reader that sees it sees a complete first record.
    Atomics.store(words, H_MAGIC, MAGIC);
    return board;
  }

  /**
   * Removes an existing board of this user unless a live process owns it.
   *
   * @returns False, touching nothing, when the name is another user's.
   */
  static #reclaim(name: string): boolean {
    let pid = 0;
    let start = 0;
    try {
      using old = SharedMemory.open(name);
      if (old.size >= HEADER_BYTES) {
        const words = new Int32Array(old.buffer, 0, HEADER_BYTES / 4);
        pid = Atomics.load(words, H_PID);
        start = Atomics.load(words, H_START) >>> 0;
      }
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      if (NOT_OURS.includes(error.code)) return false;
      // Gone in between, or never sized by a creator that died: either way nobody owns it.
      if (!["ENOENT", "EAGAIN"].includes(error.code)) throw error;
    }
    const me = ownIdentity();
    if (!(pid === me.pid && start === me.start) && isAlive(pid, start)) {
      throw new IpcError("create status board", "StatusBoard", "EBUSY", 0, {
        objectName: name,
        reason: `a running server (pid ${pid}) owns it`,
      });
    }
    unlinkIfPresent(() => SharedMemory.unlink(name));
    return true;
  }

  /**
   * Publishes the server's counters. Single writer; never blocks, whatever readers do.
   *
   * @param update The counters now.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const board = StatusBoard.create(listener.addr.port);
   * board.publish({
   *   clients: 1,
   *   clientsByTransport: { tcp: 1 },
   *   channels: 1,
   *   totalMessages: 1,
   *   messagesPerSecond: 1,
   *   lastMessage: { sender: "ann", target: "#lobby", text: "hi", time: Date.now() },
   * });
   * assert.equal(StatusBoard.read(board.port).lastMessage?.text, "hi");
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
    const cluster = update.cluster;
    u32(C_HAS, cluster === undefined ? 0 : 1);
    if (cluster !== undefined) {
      u32(C_BUS, Math.max(0, BUS_STATES.indexOf(cluster.bus)));
      u32(C_LOCAL, cluster.localClients);
      u32(C_PEER_COUNT, cluster.peerCount ?? cluster.peers.length);
      record.setFloat64(C_APPLIED, cluster.applied, true);
      record.setFloat64(C_HEAD, cluster.head, true);
      record.setFloat64(C_LAG, cluster.lag, true);
      record.setFloat64(C_REFUSED, cluster.refused, true);
      TRAFFIC_KEYS.forEach((key, i) =>
        record.setFloat64(C_TRAFFIC + 8 * i, cluster.traffic[key], true)
      );
      u32(C_NODE_LEN, field(C_NODE, STATUS_NAME_BYTES, cluster.node));
      u32(C_CLUSTER_LEN, field(C_CLUSTER, CLUSTER_NAME_BYTES, cluster.cluster));
      cluster.peers.slice(0, STATUS_PEERS).forEach((peer, i) => {
        const at = C_PEERS + i * PEER_BYTES;
        u32(at, field(at + P_NAME, STATUS_NAME_BYTES, peer.node));
        u32(at + P_USERS, peer.users);
        record.setFloat64(at + P_APPLIED, peer.applied, true);
        record.setFloat64(at + P_SILENT, peer.silentMs, true);
      });
    }

    const words = this.#words;
    const staged = this.#stagingWords;
    const base = HEADER_BYTES / 4;
    const used = usedWords((i) => staged[i]);
    Atomics.add(words, H_SEQ, 1); // odd: readers retry
    for (let i = 0; i < used; i++) Atomics.store(words, base + i, staged[i]);
    Atomics.add(words, H_SEQ, 1); // even: the record is whole again
  }

  /**
   * Removes the board: unmaps it and unlinks its name. Safe to call twice.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const board = StatusBoard.create(listener.addr.port);
   * board.close();
   * board.close();
   * assert.throws(() => StatusBoard.read(listener.addr.port), { code: "ENOENT" });
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
   * Reads a server's board without a lock and without network. When there are several for
   * the port (a stale one left under a fresh name), the live one, else the last updated.
   *
   * @param port The server's port.
   * @returns A consistent snapshot; `stale` is true when the server no longer runs.
   * @throws {IpcError} `ENOENT` when no board exists for the port, `EOWNER` when the only
   * one is another user's, `EBADMAGIC`/`EVERSION` for a segment that is not a board this
   * version reads, `EBUSY` when the writer stayed mid-update for the whole read budget.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError, StatusBoard } from "./mod.ts";
   *
   * // A port that had a board, which its server has closed.
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * StatusBoard.create(listener.addr.port).close();
   * assert.throws(
   *   () => StatusBoard.read(listener.addr.port),
   *   (error) => error instanceof IpcError && error.code === "ENOENT",
   * );
   * ```
   */
  static read(port: number): StatusSnapshot {
    checkPort(port, "read status board");
    const { boards, refusal } = readBoards(boardNames(port));
    const [best] = boards.sort((a, b) =>
      Number(a.stale) - Number(b.stale) || b.updatedAt - a.updatedAt
    );
    if (best !== undefined) return best;
    if (refusal !== undefined) throw refusal;
    // None: open the first-choice name, for the OS's own ENOENT (or one that just appeared).
    using shm = SharedMemory.open(boardName(port));
    return readSegment(shm);
  }

  /**
   * Reads the board in one segment, named as `shmooze ipc ls` lists it.
   *
   * @param name The segment's name, e.g. `shmooze-1000-status-54000`.
   * @returns A consistent snapshot.
   * @throws {IpcError} as {@link StatusBoard.read}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * using board = StatusBoard.create(listener.addr.port);
   * assert.equal(StatusBoard.readNamed(board.name).port, listener.addr.port);
   * ```
   */
  static readNamed(name: string): StatusSnapshot {
    using shm = SharedMemory.open(name);
    return readSegment(shm);
  }

  /**
   * Every board of this user, live or stale, by port. On Linux it lists `/dev/shm`; macOS
   * and Windows cannot list named segments, so there it finds only the default port 54000.
   * Boards that vanish or cannot be read while listing are skipped, and so are other users'.
   *
   * @returns The snapshots, sorted by port.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * using board = StatusBoard.create(listener.addr.port);
   * assert.ok(StatusBoard.list().some((s) => s.port === board.port));
   * ```
   */
  static list(): StatusSnapshot[] {
    return readBoards(boardNames()).boards.sort((a, b) =>
      a.port - b.port || a.name.localeCompare(b.name)
    );
  }

  /**
   * Why this user's boards that {@link StatusBoard.list} skips could not be read: a layout of
   * another version (`EVERSION`), not a board (`EBADMAGIC`) …; other users' are left out.
   *
   * @returns One error per unreadable board of this user.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StatusBoard } from "./mod.ts";
   * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * using board = StatusBoard.create(listener.addr.port);
   * assert.ok(!StatusBoard.unreadable().some((error) => error.objectName === board.name));
   * ```
   */
  static unreadable(): IpcError[] {
    const errors: IpcError[] = [];
    for (const name of boardNames()) {
      try {
        using shm = SharedMemory.open(name);
        readSegment(shm);
      } catch (error) {
        if (!(error instanceof IpcError)) throw error;
        if (!["ENOENT", ...NOT_OURS].includes(error.code)) errors.push(error);
      }
    }
    return errors;
  }
}
