/**
 * Per-client outgoing queues, flushed together on a short timer: the heart of fan-out.
 *
 * Delivering a message to a thousand clients must not mean a thousand socket writes per
 * message: each write is a system call and a promise, and a per-line write collapses to a
 * few hundred deliveries a second. So a delivery only pushes a reference to the line's
 * bytes (encoded once and shared by every recipient) onto the client's queue; a
 * {@link Flusher} then writes each client's queue as one buffer every millisecond or two.
 * A client's write is never awaited on anyone else's path, and a client that does not read
 * only fills its own queue until it passes its bound and is dropped ("SendQ exceeded").
 *
 * @module
 */
import type { Connection } from "./connection.ts";

const EAGER_FLUSH_BYTES = 32 * 1024;
/** The longest a busy server lets deliveries gather. */
const MAX_DELAY_MS = 20;

/**
 * Flushes every queue that has something to send, once per tick. One per server.
 *
 * @example Flush a queue into an in-memory connection
 * ```ts
 * import { Flusher, SendQueue } from "./send_queue.ts";
 *
 * const written: string[] = [];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     written.push(...chunks.map((c) => new TextDecoder().decode(c)));
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const flusher = new Flusher(1);
 * const queue = new SendQueue(connection, flusher, 1024, () => {});
 * queue.push(new TextEncoder().encode("PING :x\r\n"));
 * await queue.drained();
 * console.log(written); // [ "PING :x\r\n" ]
 * ```
 */
export class Flusher {
  #pending = new Set<SendQueue>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #intervalMs: number;
  #delayMs: number;
  #beforeWrite: () => void;

  /**
   * @param intervalMs How long deliveries gather before a flush (at least; a busy server
   *   waits twice as long as its last flush took, up to 20 ms); 0 flushes after the current task
   *   (a macrotask), which still coalesces one burst of input.
   * @param beforeWrite Runs before any queue writes, so what a write shows is already
   *   durable (the server commits the history appended since the last flush). Must not throw.
   */
  constructor(intervalMs: number, beforeWrite: () => void = () => {}) {
    this.#intervalMs = intervalMs;
    this.#delayMs = intervalMs;
    this.#beforeWrite = beforeWrite;
  }

  /** Runs the `beforeWrite` hook; every write of a queue comes after it. */
  prepareWrite(): void {
    this.#beforeWrite();
  }

  /**
   * Marks a queue as having bytes to send; it is flushed at the next tick.
   *
   * @param queue The queue.
   */
  schedule(queue: SendQueue): void {
    this.#pending.add(queue);
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  /** Flushes every pending queue now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = new Set();
    const start = performance.now();
    this.#beforeWrite();
    for (const queue of pending) queue.flush();
    // Under load a flush (one write system call per client) takes longer; waiting twice as
    // long before the next keeps writes to a third of the thread, and each carries more lines.
    const spent = performance.now() - start;
    this.#delayMs = Math.min(MAX_DELAY_MS, Math.max(this.#intervalMs, 2 * spent));
  }

  /** Forgets a closed queue. */
  forget(queue: SendQueue): void {
    this.#pending.delete(queue);
  }
}

/**
 * A bounded queue of encoded lines for one connection, with at most one write in flight.
 *
 * @example
 * See {@link Flusher}.
 */
export class SendQueue {
  #connection: Connection;
  #flusher: Flusher;
  #limit: number;
  #onOverflow: () => void;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #writing = false;
  #closed = false;
  #waiters: (() => void)[] = [];

  /**
   * @param connection Where the bytes go.
   * @param flusher The server's flusher.
   * @param limit The most bytes queued or in flight before the client counts as stuck.
   * @param onOverflow Called once when a push passes `limit` (the push is dropped).
   */
  constructor(connection: Connection, flusher: Flusher, limit: number, onOverflow: () => void) {
    this.#connection = connection;
    this.#flusher = flusher;
    this.#limit = limit;
    this.#onOverflow = onOverflow;
  }

  /** Bytes waiting or being written. */
  get size(): number {
    return this.#queued + this.#inFlight;
  }

  /**
   * Queues one encoded line. Costs no copy: the bytes may be shared with other queues and
   * must not change afterwards.
   *
   * @param bytes The line with its CR LF.
   * @returns False when the queue is closed or overflowed (the line was dropped).
   */
  push(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#queued + this.#inFlight + bytes.length > this.#limit) {
      this.#closed = true;
      this.#chunks = [];
      this.#queued = 0;
      this.#flusher.forget(this);
      this.#onOverflow();
      return false;
    }
    this.#chunks.push(bytes);
    this.#queued += bytes.length;
    if (this.#writing) return true;
    // A burst bigger than one good write goes out now rather than piling up until the tick.
    if (this.#queued >= EAGER_FLUSH_BYTES) this.flush();
    else if (this.#chunks.length === 1) this.#flusher.schedule(this);
    return true;
  }

  /** Starts writing what is queued, unless a write is in flight (it continues after). */
  flush(): void {
    if (this.#writing || this.#chunks.length === 0) return;
    const chunks = this.#chunks;
    const length = this.#queued;
    this.#chunks = [];
    this.#queued = 0;
    this.#inFlight = length;
    this.#writing = true;
    this.#flusher.prepareWrite();
    this.#connection.write(chunks, length).then(
      () => this.#written(),
      () => this.#fail(),
    );
  }

  /**
   * Resolves once everything pushed so far has been written (or the queue is closed).
   *
   * @returns A promise.
   */
  drained(): Promise<void> {
    if (this.#closed || (!this.#writing && this.#chunks.length === 0)) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Drops what is queued and accepts no more. */
  close(): void {
    this.#closed = true;
    this.#chunks = [];
    this.#queued = 0;
    this.#flusher.forget(this);
    this.#wake();
  }

  #written(): void {
    this.#writing = false;
    this.#inFlight = 0;
    if (this.#chunks.length > 0) {
      // Let the next tick gather more before writing again.
      this.#flusher.schedule(this);
    } else {
      this.#wake();
    }
  }

  #fail(): void {
    this.#writing = false;
    this.#inFlight = 0;
    this.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
