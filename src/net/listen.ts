/**
 * Opening a listening socket, with one error for every way it can fail. Every listener of the
 * server (IRC, IRC over TLS, HTTP) opens here, so each failure says which listener, which
 * address, and a `problem` a program can act on; the `shmooze` command line turns it into
 * the flag to change.
 *
 * @module
 */

/** Which of the server's listeners. */
export type ListenerKind = "irc" | "irc-tls" | "http";

/**
 * Why a listener could not open:
 * - `in-use`: another socket holds the port;
 * - `permission`: the port needs privileges (below 1024 without root);
 * - `certificate`: the TLS certificate or key could not be read as PEM;
 * - `address`: the address is not one of this machine's, or the name does not resolve.
 */
export type ListenProblem = "in-use" | "permission" | "certificate" | "address";

/**
 * A listener could not open.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listen, ListenError } from "./listen.ts";
 *
 * const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = taken.addr as Deno.NetAddr;
 * try {
 *   assert.throws(() => listen("irc", "127.0.0.1", port), (error: unknown) =>
 *     error instanceof ListenError && error.problem === "in-use" && error.port === port);
 * } finally {
 *   taken.close();
 * }
 * ```
 */
export class ListenError extends Error {
  /** Which listener. */
  readonly listener: ListenerKind;
  /** The address it tried. */
  readonly hostname: string;
  /** The port it tried. */
  readonly port: number;
  /** Why it failed, for a program to act on. */
  readonly problem: ListenProblem;

  /**
   * Makes the error.
   *
   * @param listener Which listener.
   * @param hostname The address.
   * @param port The port.
   * @param problem Why.
   * @param cause The runtime's error.
   */
  constructor(
    listener: ListenerKind,
    hostname: string,
    port: number,
    problem: ListenProblem,
    cause: unknown,
  ) {
    const what = { irc: "IRC", "irc-tls": "IRC over TLS", http: "HTTP" }[listener];
    const why = {
      "in-use": "the port is already in use",
      permission: "this user may not open that port",
      certificate: "the TLS certificate or key is not valid PEM",
      address: `it is not an address of this machine (${(cause as Error).message})`,
    }[problem];
    super(`Cannot listen for ${what} on ${hostname}:${port}: ${why}`, { cause });
    this.name = "ListenError";
    this.listener = listener;
    this.hostname = hostname;
    this.port = port;
    this.problem = problem;
  }
}

/**
 * Opens a TCP listener, or a TLS one when `tls` is given.
 *
 * @param listener Which listener, for the error.
 * @param hostname The address to listen on.
 * @param port The port; 0 picks a free one.
 * @param tls The PEM certificate (chain) and key, for TLS.
 * @param options `reusePort`: share the port with other processes that set it too (Linux
 *   spreads connections over them; Deno needs `--unstable-net`). @default {{ reusePort: false }}
 * @returns The listener.
 * @throws {ListenError} When it cannot open.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listen } from "./listen.ts";
 *
 * const listener = listen("irc", "127.0.0.1", 0);
 * assert.ok((listener.addr as Deno.NetAddr).port > 0);
 * listener.close();
 * ```
 */
export function listen(
  listener: ListenerKind,
  hostname: string,
  port: number,
  tls?: { cert: string; key: string },
  options: { reusePort?: boolean } = {},
): Deno.Listener {
  // Only set when asked: Deno refuses the option itself without --unstable-net.
  const shared = options.reusePort ? { reusePort: true } : {};
  try {
    return tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, ...shared })
      : Deno.listen({ hostname, port, ...shared });
  } catch (error) {
    const problem: ListenProblem = error instanceof Deno.errors.AddrInUse
      ? "in-use"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission"
      : error instanceof Deno.errors.InvalidData
      ? "certificate"
      : "address";
    throw new ListenError(listener, hostname, port, problem, error);
  }
}
