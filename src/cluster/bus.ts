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
