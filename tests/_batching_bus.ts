/**
 * A real cluster bus whose log entries a test can hold, then hand over together in one turn,
 * as NATS delivers a batch: to check what a node does when several entries are applied at once.
 */
import type { Bus, LogEntry } from "../src/cluster/bus.ts";
import type { ClusterEvent, Heartbeat } from "../src/cluster/cluster_event.ts";

/** A real bus whose log entries can be held, then handed over together in one turn. */
export class BatchingBus implements Bus {
  /** The entries held back while it is set (an array); undefined: entries pass at once. */
  held: LogEntry[] | undefined;
  #apply: ((entry: LogEntry) => void) | undefined;
  readonly #inner: Bus;
  /**
   * Wraps a bus.
   *
   * @param inner The real bus.
   */
  constructor(inner: Bus) {
    this.#inner = inner;
  }
  append(event: ClusterEvent): Promise<number> {
    return this.#inner.append(event);
  }
  read(from: number, apply: (entry: LogEntry) => void) {
    this.#apply = apply;
    return this.#inner.read(from, (entry) => this.held ? this.held.push(entry) : apply(entry));
  }
  /** Hands over every held entry, one after the other, in this turn. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const entry of held) this.#apply!(entry);
  }
  head(): Promise<number> {
    return this.#inner.head();
  }
  beat(beat: Heartbeat): void {
    this.#inner.beat(beat);
  }
  onBeat(listener: (beat: Heartbeat) => void): void {
    this.#inner.onBeat(listener);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
