/**
 * The cluster's {@link Bus} on one machine, through the project's own shared memory: the log is
 * a {@link LogRing} (one named segment, a cross-process lock, futex wake-ups), the heartbeats
 * its slots. It is the default bus of `serve --workers N`: the workers of one server are the
 * nodes of a cluster whose log never leaves the machine.
 *
 * A ring has a fixed size. A reader that falls a whole ring behind has lost entries for good:
 * it stops reading (nothing after the gap is applied, so its hub never holds a wrong state)
 * and `onLost` is told; `serve` then stops that worker. Reading from a sequence the ring no
 * longer holds (a node that starts after the ring went round) is refused the same way.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LogRing, type LogRingCursor, type LogRingRead } from "../ipc/log_ring.ts";
import type { Bus, LogEntry, LogReader, SnapshotStore } from "./bus.ts";
import { decodeEvent, decodeHeartbeat, encodeEvent, type Heartbeat } from "./cluster_event.ts";
import type { ClusterEvent } from "./cluster_event.ts";

const log = getLogger(["shmooze", "cluster"]);

/** Entries handed over before the reader lets the event loop run. */
const BATCH = 256;
/** How often heartbeat slots are looked at, ms. */
const BEAT_POLL_MS = 100;

/** Options for {@link ShmBus.open}. */
export interface ShmBusOptions {
  /**
   * Called when a reader stopped because it can no longer follow the log: it fell a whole ring
   * behind, or found a record it cannot read (another program wrote into the ring). The node
   * must stop. @default {logs an error}
   */
  onLost?: (error: Error) => void;
  /**
   * Where the cluster's snapshot is kept (`serve --workers`: one file in the data directory),
   * so that a node starts from it when the ring no longer holds entry 1 — a ring created again
   * goes on after the snapshot's sequence. None: every node reads the ring from entry 1.
   * @default {undefined}
   */
  snapshots?: SnapshotStore;
}

/**
 * A cluster's log and heartbeats in a shared-memory ring on this machine.
 *
 * @example Two handles on one ring: one order, each id once
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogRing } from "../ipc/log_ring.ts";
 * import type { LogEntry } from "./bus.ts";
 * import { ShmBus } from "./shm_bus.ts";
 *
 * const name = `shmooze-doc-bus-${crypto.randomUUID().slice(0, 8)}`;
 * const ring = LogRing.create(name);
 * const a = ShmBus.open(name);
 * const b = ShmBus.open(name);
 * const quit = { v: 1, id: "q1", node: "a", conn: "1", kind: "quit", reason: "" } as const;
 * assert.equal(await a.append(quit), 1);
 * assert.equal(await b.append(quit), 1, "the same id is one entry");
 * const seen: LogEntry[] = [];
 * const reader = await b.read(1, (entry) => seen.push(entry));
 * assert.deepEqual(seen, [{ seq: 1, event: quit }]);
 * await reader.stop();
 * await Promise.all([a.close(), b.close()]);
 * ring.close();
 * LogRing.unlink(name);
 * ```
 */
export class ShmBus implements Bus {
  readonly #ring: LogRing;
  readonly #onLost: (error: Error) => void;
  /** Where the snapshot is kept, when it is. */
  readonly snapshots?: SnapshotStore;
  readonly #readers = new Set<LogReader>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;

  private constructor(ring: LogRing, options: ShmBusOptions) {
    this.#ring = ring;
    this.#onLost = options.onLost ??
      ((error) => log.error("{error}", { error }));
    this.snapshots = options.snapshots;
  }

  /**
   * Opens the bus on a ring that exists (the `serve --workers` parent creates it).
   *
   * @param name The ring's segment name.
   * @param options What to do when a reader is lapped; where the snapshot is kept.
   * @returns The bus.
   * @throws {IpcError} When there is no such ring, or it is no ring.
   */
  static open(name: string, options: ShmBusOptions = {}): ShmBus {
    return new ShmBus(LogRing.open(name), options);
  }

  append(event: ClusterEvent): Promise<number> {
    try {
      return Promise.resolve(this.#ring.append(event.id, encodeEvent(event)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader> {
    let cursor: LogRingCursor;
    try {
      cursor = this.#ring.cursor(Math.max(1, from));
    } catch (error) {
      return Promise.reject(
        new Error(`Cannot read the log from entry ${from}: ${(error as Error).message}`),
      );
    }
    const stop = new AbortController();
    const ring = this.#ring;
    const hand = (seq: number, payload: Uint8Array) => {
      let entry: LogEntry;
      try {
        entry = { seq, event: decodeEvent(payload) };
      } catch (error) {
        entry = { seq, error: error as TypeError };
      }
      apply(entry);
    };
    const done = (async () => {
      while (!stop.signal.aborted) {
        let result: LogRingRead;
        try {
          result = ring.read(cursor, hand, { max: BATCH, from });
        } catch (error) {
          this.#onLost(
            new Error(`This node stopped reading the log at entry ${cursor.seq}`, { cause: error }),
          );
          return;
        }
        if (result.lapped) {
          this.#onLost(
            new Error(
              `This node fell a whole ring behind the log at entry ${cursor.seq}: entries were overwritten before it read them, so it stopped reading`,
            ),
          );
          return;
        }
        if (result.count === BATCH) await new Promise((resolve) => setTimeout(resolve, 0));
        else await ring.wait(cursor, stop.signal);
      }
    })();
    const reader: LogReader = {
      stop: async () => {
        stop.abort();
        ring.wake();
        this.#readers.delete(reader);
        await done;
      },
    };
    this.#readers.add(reader);
    return Promise.resolve(reader);
  }

  head(): Promise<number> {
    // A rejection, as NATS gives when its connection is closed: the ring is unmapped then.
    if (this.#closed) return Promise.reject(new Error("The shared-memory bus is closed"));
    return Promise.resolve(this.#ring.lastSeq);
  }

  first(): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("The shared-memory bus is closed"));
    try {
      return Promise.resolve(this.#ring.tailSeq);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  beat(beat: Heartbeat): void {
    if (this.#closed) return;
    try {
      this.#ring.beat(encodeEvent(beat));
    } catch (error) {
      // Unstored, like a heartbeat on NATS: a missed one is not sent again.
      log.warn("A heartbeat could not be sent: {error}", { error });
    }
  }

  onBeat(listener: (beat: Heartbeat) => void): void {
    const seen = new Map<number, number>();
    this.#timers.push(setInterval(() => {
      if (this.#closed) return;
      for (const bytes of this.#ring.beats(seen)) {
        try {
          listener(decodeHeartbeat(bytes));
        } catch (problem) {
          log.warn("A heartbeat was dropped: {problem}", { problem });
        }
      }
    }, BEAT_POLL_MS));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const reader of [...this.#readers]) await reader.stop();
    for (const timer of this.#timers) clearInterval(timer);
    this.#closed = true;
    this.#ring.close();
  }
}
