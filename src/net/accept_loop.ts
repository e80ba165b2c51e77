/**
 * The one accept loop every listener runs (IRC on TCP and TLS, HTTP and HTTPS).
 *
 * `accept()` fails for reasons that pass: the process is out of file descriptors (EMFILE,
 * ENFILE), the kernel is out of buffers (ENOBUFS), a peer reset its connection before it was
 * accepted (ECONNABORTED). None of them is a reason to stop listening: a server whose loop
 * ends on the first failure is down for good once a flood of connections has filled its
 * descriptor table, even after the flood is gone. So the loop waits and tries again, waiting
 * twice as long after each failure in a row (10 ms up to 1 s, as nginx and ngircd do) so a
 * lasting shortage costs no CPU; it logs once when a burst of failures starts and once when
 * it has ended (a full second of accepting without a failure), not once per failure; it
 * counts the failures for `/metrics`. It stops only when
 * the listener is closed on purpose.
 *
 * What happens on an accepted connection (a TLS handshake, a reset, a protocol error) is the
 * handler's business: the handler is called synchronously and anything it throws closes that
 * one connection, never the loop.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";

const log = getLogger(["shmooze", "net"]);

/**
 * An error's message alone. Its stack must not be formatted here: out of file descriptors,
 * Deno 2.9.6 panics while building a stack trace (it reads /proc/self/maps to size the
 * stack and asserts that the read worked), which would end the process this loop keeps up.
 */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options for {@link AcceptLoop}. */
export interface AcceptLoopOptions {
  /** The listener's name in logs and metrics (`irc`, `irc-tls`, `http`). */
  name: string;
  /** The wait after the first failure of a burst, ms. @default {10} */
  minDelayMs?: number;
  /** The longest wait between two attempts, ms. @default {1000} */
  maxDelayMs?: number;
}

/**
 * Accepts connections from a listener until it is closed, surviving every accept error.
 *
 * @example Accept, count a connection, stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { AcceptLoop } from "./accept_loop.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = Promise.withResolvers<void>();
 * const loop = new AcceptLoop(listener, (conn) => {
 *   conn.close();
 *   accepted.resolve();
 * }, { name: "example" });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await accepted.promise;
 * client.close();
 * loop.close();
 * await loop.done;
 * assert.equal(loop.errors, 0);
 * ```
 */
export class AcceptLoop<C extends Deno.Conn = Deno.Conn> {
  /** The listener's name in logs and metrics. */
  readonly name: string;
  /** Resolves when the loop has stopped (after {@link AcceptLoop.close}). */
  readonly done: Promise<void>;
  readonly #listener: Deno.Listener<C>;
  readonly #handle: (conn: C) => void;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  #errors = 0;
  /** Failures in the current burst; 0 when accepting works. */
  #burst = 0;
  #quietTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;

  /**
   * Starts accepting.
   *
   * @param listener The listener; the loop owns it from now on.
   * @param handle Called with each accepted connection. It must not wait: start the
   *   connection's work and return. What it throws closes that connection only.
   * @param options The name and the backoff.
   */
  constructor(listener: Deno.Listener<C>, handle: (conn: C) => void, options: AcceptLoopOptions) {
    this.#listener = listener;
    this.#handle = handle;
    this.name = options.name;
    this.#minDelayMs = options.minDelayMs ?? 10;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.done = this.#run();
  }

  /** Accept errors since the loop started. */
  get errors(): number {
    return this.#errors;
  }

  /** Stops accepting and closes the listener; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#quietTimer);
    this.#wake?.();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }

  async #run(): Promise<void> {
    let delayMs = 0;
    while (!this.#closed) {
      let conn: C;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        // A listener closed by someone else ends the loop as a close() would.
        if (this.#closed || error instanceof Deno.errors.BadResource) break;
        this.#failed(error);
        delayMs = Math.min(this.#maxDelayMs, delayMs === 0 ? this.#minDelayMs : delayMs * 2);
        await this.#pause(delayMs);
        continue;
      }
      delayMs = 0;
      this.#succeeded();
      try {
        this.#handle(conn);
      } catch (error) {
        log.debug(`Dropped a connection on ${this.name}: ${messageOf(error)}`);
        try {
          conn.close();
        } catch {
          // Already closed by the handler.
        }
      }
    }
  }

  /** Counts a failure; the first of a burst is logged. */
  #failed(error: unknown): void {
    this.#errors++;
    clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    if (this.#burst++ === 0) {
      log.warn(
        `Accepting connections on ${this.name} failed: ${messageOf(error)}; retrying every ` +
          `${this.#minDelayMs} ms to ${this.#maxDelayMs} ms until it works`,
      );
    }
  }

  /**
   * Ends a burst once accepting has worked for `maxDelayMs` without a failure: a descriptor
   * table at its limit lets one accept through now and then, and that is not the end.
   */
  #succeeded(): void {
    if (this.#burst === 0 || this.#quietTimer !== undefined) return;
    this.#quietTimer = setTimeout(() => {
      log.info(`Accepting connections on ${this.name} again after ${this.#burst} failed attempts`);
      this.#burst = 0;
      this.#quietTimer = undefined;
    }, this.#maxDelayMs);
  }

  /** Waits `ms`, or less when the loop is closed meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
