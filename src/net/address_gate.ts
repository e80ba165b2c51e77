/**
 * Admission per peer address, shared by every listener: one address may hold at most so many
 * connections at once, whatever their protocol (IRC on TCP or TLS, HTTP, WebSocket), and open
 * at most so many new ones a minute (loopback is exempt from the rate: local tools and tests
 * reconnect freely). A transport asks the gate as soon as it accepts a socket and gives the
 * admission back when the socket closes; a connection that changes protocol (an HTTP request
 * upgraded to an IRC WebSocket) hands its admission over instead, so it counts once. A peer
 * is counted under its {@link addressKey}: an IPv4 host once however it is spelt, an IPv6
 * host by its /64.
 *
 * @module
 */
import { RateLimiter } from "../chat/rate_limiter.ts";
import { addressKey } from "./address_key.ts";
import { isLoopback } from "./loopback.ts";

/** Options for {@link AddressGate}. */
export interface AddressGateOptions {
  /** Connections one address may hold at once. @default {16} */
  maxPerAddress?: number;
  /** New connections one address may open in any minute; loopback is exempt. @default {30} */
  perMinute?: number;
}

/** The gate's answer for one connection. */
export interface Admission {
  /** The peer's address as the gate counts it. */
  readonly address: string;
  /** Why the connection was refused (a sentence for the client), or undefined when let in. */
  readonly refused: string | undefined;
  /** Gives the place back when the connection ends; does nothing when refused or called again. */
  release(): void;
}

/**
 * Counts connections per address and refuses those past the limits.
 *
 * @example Two connections allowed per address; the third waits for one to end
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressGate } from "./address_gate.ts";
 *
 * const gate = new AddressGate({ maxPerAddress: 2 });
 * const first = gate.admit("192.0.2.7");
 * const second = gate.admit("::ffff:192.0.2.7");
 * assert.equal(first.refused, undefined);
 * assert.equal(second.refused, undefined);
 * assert.equal(
 *   gate.admit("192.0.2.7").refused,
 *   "Too many connections from your IP address (2)",
 * );
 * assert.equal(gate.admit("198.51.100.1").refused, undefined);
 * first.release();
 * first.release(); // a second release changes nothing
 * assert.equal(gate.count("192.0.2.7"), 1);
 * assert.equal(gate.admit("192.0.2.7").refused, undefined);
 * ```
 */
export class AddressGate {
  /** Connections one address may hold at once. */
  readonly maxPerAddress: number;
  /** New connections one address may open in any minute (loopback exempt). */
  readonly perMinute: number;
  readonly #open = new Map<string, number>();
  readonly #rate: RateLimiter;

  /**
   * Creates a gate with no connection counted yet.
   *
   * @param options The limits.
   */
  constructor(options: AddressGateOptions = {}) {
    this.maxPerAddress = options.maxPerAddress ?? 16;
    this.perMinute = options.perMinute ?? 30;
    this.#rate = new RateLimiter({ limit: this.perMinute, windowMs: 60_000 });
  }

  /**
   * Lets a new connection in, or says why not. A refused connection is not counted.
   *
   * @param address The peer's IP address, as the transport reports it.
   * @param now The time, ms since the epoch.
   * @returns The admission; release it when the connection closes.
   */
  admit(address: string, now: number = Date.now()): Admission {
    const key = addressKey(address);
    const count = this.#open.get(key) ?? 0;
    const refused = count >= this.maxPerAddress
      ? `Too many connections from your IP address (${this.maxPerAddress})`
      : !isLoopback(key) && !this.#rate.take(key, now)
      ? `Too many new connections from your IP address (${this.perMinute} a minute)`
      : undefined;
    if (refused !== undefined) return { address: key, refused, release: () => {} };
    this.#open.set(key, count + 1);
    let released = false;
    return {
      address: key,
      refused,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#open.get(key) ?? 1) - 1;
        if (left > 0) this.#open.set(key, left);
        else this.#open.delete(key);
      },
    };
  }

  /**
   * How many admitted connections an address holds now.
   *
   * @param address The peer's IP address.
   * @returns The count.
   */
  count(address: string): number {
    return this.#open.get(addressKey(address)) ?? 0;
  }
}
