/**
 * Helpers for tests of cluster nodes in one process: a user that records what it is handed,
 * and a bus that wraps a real one to hold back or lose what a test says.
 */
import type { ChatEvent } from "../src/chat/chat_event.ts";
import type { Member } from "../src/chat/member.ts";
import type { Bus, LogEntry, LogReader, SnapshotStore } from "../src/cluster/bus.ts";
import type { ClusterEvent, Heartbeat } from "../src/cluster/cluster_event.ts";

/** A user that records every event it is handed, and lets a test wait for one. */
export class Recorder implements Member {
  nick: string;
  user: string;
  host: string;
  realname: string;
  transport = "test";
  channels = new Set<string>();
  echo = true;
  account?: string;
  oper?: string;
  wallops?: boolean;
  address?: string;
  readonly events: ChatEvent[] = [];
  disconnected: string | undefined;
  #listeners = new Set<() => void>();

  /**
   * Makes a user named `nick` (its user and real name too).
   *
   * @param nick The nick.
   * @param options Its host, address, account, and whether it is a server operator.
   */
  constructor(
    nick: string,
    options: { host?: string; address?: string; account?: string; oper?: boolean } = {},
  ) {
    this.nick = nick;
    this.user = nick;
    this.realname = nick;
    this.host = options.host ?? "test";
    this.address = options.address;
    this.account = options.account;
    if (options.oper) this.oper = nick;
  }

  /** Records the event. */
  deliver(event: ChatEvent): void {
    this.events.push(event);
    for (const listener of [...this.#listeners]) listener();
  }

  /** Records why it was disconnected. */
  disconnect(reason: string): void {
    this.disconnected = reason;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Waits until `check` gives something other than undefined; returns it. */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const listener = () => {
        const found = check();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.nick}: ${what} did not happen in ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
      listener();
    });
  }

  /** Waits (bounded) for an event that matches. */
  waitFor(
    match: (event: ChatEvent) => boolean,
    what = "a matching event",
    timeoutMs = 10_000,
  ): Promise<ChatEvent> {
    return this.until(() => this.events.find(match), what, timeoutMs);
  }

  /** Waits (bounded) until it is told to disconnect; returns why. */
  waitForDisconnect(timeoutMs = 10_000): Promise<string> {
    return this.until(() => this.disconnected, "a disconnection", timeoutMs);
  }
}

/** A real bus, every call handed to it: what the buses below change, they override. */
export class WrappedBus implements Bus {
  /** The real bus. */
  readonly inner: Bus;

  /**
   * Wraps a bus.
   *
   * @param inner The real bus.
   */
  constructor(inner: Bus) {
    this.inner = inner;
  }

  append(event: ClusterEvent): Promise<number> {
    return this.inner.append(event);
  }

  get confirm(): Bus["confirm"] {
    return this.inner.confirm?.bind(this.inner);
  }

  get first(): Bus["first"] {
    return this.inner.first?.bind(this.inner);
  }

  get snapshots(): SnapshotStore | undefined {
    return this.inner.snapshots;
  }

  get state(): Bus["state"] {
    return this.inner.state?.bind(this.inner);
  }

  get traffic(): Bus["traffic"] {
    return this.inner.traffic?.bind(this.inner);
  }

  read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader> {
    return this.inner.read(from, apply);
  }

  head(): Promise<number> {
    return this.inner.head();
  }

  beat(beat: Heartbeat): void {
    this.inner.beat(beat);
  }

  onBeat(listener: (beat: Heartbeat) => void): void {
    this.inner.onBeat(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A real bus whose log entries a test can hold, then hand over together in one turn, as NATS
 * delivers a batch: to check what a node does when several entries are applied at once, or how
 * far behind the log a node whose reading stalled says it is.
 */
export class BatchingBus extends WrappedBus {
  /** The entries held back while it is set (an array); undefined: entries pass at once. */
  held: LogEntry[] | undefined;
  #apply: ((entry: LogEntry) => void) | undefined;

  override read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader> {
    this.#apply = apply;
    return this.inner.read(from, (entry) => this.held ? this.held.push(entry) : apply(entry));
  }

  /** Hands over every held entry, one after the other, in this turn. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const entry of held) this.#apply!(entry);
  }
}

/**
 * A real bus whose appends can lose their acknowledgement (the entry is stored, the caller is
 * told it failed, as when the acknowledgement did not come back before the deadline), and that
 * tells a test when an append failed.
 */
export class AckLosingBus extends WrappedBus {
  /** While true, every append is stored and then reported as failed. */
  loseAcks = false;
  #failed = Promise.withResolvers<void>();

  /**
   * Resolves at the next append that fails.
   *
   * @returns The promise.
   */
  appendFailed(): Promise<void> {
    return this.#failed.promise;
  }

  override async append(event: ClusterEvent): Promise<number> {
    try {
      const seq = await this.inner.append(event);
      if (this.loseAcks) throw new Error(`The acknowledgement of ${event.id} was lost`);
      return seq;
    } catch (error) {
      this.#failed.resolve();
      this.#failed = Promise.withResolvers<void>();
      throw error;
    }
  }
}

/**
 * A real bus whose reading can be paused and resumed (reading again after the last entry
 * handed over), as a node that stalled or lost its connection for a while.
 */
export class PausingBus extends WrappedBus {
  #reader: LogReader | undefined;
  #apply: ((entry: LogEntry) => void) | undefined;
  #next = 1;

  override async read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader> {
    this.#apply = apply;
    this.#next = from;
    this.#reader = await this.inner.read(from, (entry) => {
      this.#next = entry.seq + 1;
      apply(entry);
    });
    return { stop: () => this.#reader?.stop() ?? Promise.resolve() };
  }

  /** Stops reading until {@link PausingBus.resume}. */
  async pause(): Promise<void> {
    await this.#reader?.stop();
  }

  /** Reads on from the entry after the last one handed over. */
  async resume(): Promise<void> {
    await this.read(this.#next, this.#apply!);
  }
}
