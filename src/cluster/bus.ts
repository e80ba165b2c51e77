/**
 * What a cluster's nodes need from the engine between them: one log that every node reads in
 * the same order (appends made idempotent by the event's id), and heartbeats that are not
 * stored. NATS JetStream implements it (`jetstream_bus.ts`); a one-box bus (the project's own
 * shared-memory ring, for `--workers`) would implement the same.
 *
 * @module
 */
import type { ClusterEvent, Heartbeat } from "./cluster_event.ts";

/** Reading the log: stopped by {@link LogReader.stop}. */
export interface LogReader {
  /** Stops reading; no entry is handed over after it resolves. */
  stop(): Promise<void>;
}

/**
 * One entry of the log as read: its sequence (1, 2, … with no gaps but those the log's limits
 * make) and its event, or why its bytes were refused (every node refuses the same bytes).
 */
export type LogEntry = { seq: number; event: ClusterEvent; error?: undefined } | {
  seq: number;
  event?: undefined;
  error: TypeError;
};

/** A snapshot as stored: the state of the cluster after the log's entries up to its `seq`. */
export interface StoredSnapshot {
  /** The last log entry the state includes. */
  seq: number;
  /** Its bytes (see `cluster_snapshot.ts`), not trusted: the reader decodes and checks them. */
  bytes: Uint8Array;
  /** When it was written, ms since the epoch. */
  time: number;
}

/**
 * Where a cluster keeps its newest snapshot, so that a node can start from it rather than from
 * the log's first entry (which the log's retention removes in time).
 */
export interface SnapshotStore {
  /**
   * The newest snapshot.
   *
   * @returns It, or undefined when none was written yet.
   * @throws When it cannot be read, or what is stored is no snapshot.
   */
  load(): Promise<StoredSnapshot | undefined>;
  /**
   * When the newest snapshot was written and up to which entry, without reading it.
   *
   * @returns Its sequence and time, or undefined when there is none (or it is unreadable).
   */
  newest(): Promise<{ seq: number; time: number } | undefined>;
  /**
   * Stores a snapshot, unless one at the same or a later sequence is there already. Nodes may
   * race to write: one wins (compare-and-set), the others are told false.
   *
   * @param seq The last log entry it includes.
   * @param bytes The snapshot.
   * @returns Whether it was written.
   */
  save(seq: number, bytes: Uint8Array): Promise<boolean>;
}

/**
 * A bus's link to its engine: `connected`; `reconnecting` (lost, trying again by itself: appends
 * wait or fail, nothing is read); `closed` (for good).
 */
export type BusState = "connected" | "reconnecting" | "closed";

/** What a bus has carried since it opened, both ways: bytes and the engine's messages. */
export interface BusTraffic {
  /** Bytes received. */
  inBytes: number;
  /** Bytes sent. */
  outBytes: number;
  /** Messages received. */
  inMsgs: number;
  /** Messages sent. */
  outMsgs: number;
}

/**
 * The log and heartbeats of one cluster.
 *
 * @example Any bus is used the same way (here a log kept in memory)
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Bus, LogEntry } from "./bus.ts";
 * import type { ClusterEvent } from "./cluster_event.ts";
 *
 * const log: ClusterEvent[] = [];
 * const bus: Bus = {
 *   append: (event) => {
 *     const at = log.findIndex((e) => e.id === event.id);
 *     return Promise.resolve(at >= 0 ? at + 1 : log.push(event));
 *   },
 *   read: (from, apply) => {
 *     log.slice(from - 1).forEach((event, i) => apply({ seq: from + i, event }));
 *     return Promise.resolve({ stop: () => Promise.resolve() });
 *   },
 *   head: () => Promise.resolve(log.length),
 *   beat: () => {},
 *   onBeat: () => {},
 *   close: () => Promise.resolve(),
 * };
 * const quit = { v: 1, id: "q1", node: "a", conn: "1", kind: "quit", reason: "" } as const;
 * assert.equal(await bus.append(quit), 1);
 * assert.equal(await bus.append(quit), 1, "the same id is appended once");
 * const seen: LogEntry[] = [];
 * await bus.read(1, (entry) => seen.push(entry));
 * assert.deepEqual(seen, [{ seq: 1, event: quit }]);
 * ```
 */
export interface Bus {
  /**
   * Appends an event to the log, its id making the append idempotent: a retry (or another
   * node appending the same id) never adds a second entry.
   *
   * @param event The event.
   * @returns The entry's sequence (the first one's, for a repeated id).
   * @throws When the log could not take it in time; then it may or may not be in the log, and
   *   appending it again with the same id is safe.
   */
  append(event: ClusterEvent): Promise<number>;
  /**
   * Reads the log in order from a sequence on, then each new entry as it comes, until stopped;
   * reconnects by itself, going on after the last entry handed over.
   *
   * @param from The first sequence to hand over (1: from the start).
   * @param apply Called with each entry in order; must not throw.
   * @returns The reader, once reading has started.
   */
  read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader>;
  /**
   * The log's last sequence now (0 when empty).
   *
   * @returns The sequence.
   */
  head(): Promise<number>;
  /**
   * The log's first sequence still held (its limits remove old entries): 1 for a log that never
   * lost one, the head + 1 when every entry was removed. A bus without limits need not have it.
   *
   * @returns The sequence.
   */
  first?(): Promise<number>;
  /**
   * After {@link Bus.append} failed: whether the event is in the log all the same (an attempt
   * was stored, its acknowledgement lost), found out without ever adding it. It keeps asking
   * until the log answers; once it has answered, no earlier attempt can be stored any more.
   * A bus that cannot tell need not have it (the append is then taken as refused).
   *
   * @param event The event whose append failed.
   * @param since When its first append attempt was made, ms since the epoch: the log can tell
   *   only within its duplicate window from then.
   * @returns Its entry's sequence, or undefined when it is not in the log.
   * @throws When the log did not answer before the duplicate window passed.
   */
  confirm?(event: ClusterEvent, since: number): Promise<number | undefined>;
  /** Where the cluster's snapshot is kept; a bus without one starts every node from entry 1. */
  readonly snapshots?: SnapshotStore;
  /**
   * Sends a heartbeat to every node (unstored: a missed one is not sent again).
   *
   * @param beat The heartbeat.
   */
  beat(beat: Heartbeat): void;
  /**
   * Listens to every node's heartbeats (its own included); bad ones are dropped.
   *
   * @param listener Called with each.
   */
  onBeat(listener: (beat: Heartbeat) => void): void;
  /** Stops reading and disconnects. */
  close(): Promise<void>;
  /**
   * Its link to the engine now, for status and metrics; a bus without one is always there.
   *
   * @returns The state.
   */
  state?(): BusState;
  /**
   * What it has carried since it opened, for status and metrics.
   *
   * @returns Bytes and messages, in and out.
   */
  traffic?(): BusTraffic;
}
