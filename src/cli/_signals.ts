/**
 * Stopping a long-running command (`serve`, `local`) cleanly on Ctrl-C or SIGTERM instead
 * of dying with its OS objects and clients left behind.
 *
 * @module
 */

/**
 * The signals that ask a long-running command to stop: Ctrl-C everywhere, and SIGTERM
 * where the OS has it (Windows delivers only SIGINT and SIGBREAK to a console program).
 */
const STOP_SIGNALS: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/**
 * Calls `handler` with the signal's name on SIGINT or SIGTERM until the returned function
 * is called. Install it before announcing that the command is up, and remove it only once
 * the command has cleaned up, so a signal can never end the process halfway.
 *
 * @param handler What to do on a stop signal.
 * @returns A function that stops listening.
 *
 * @example SIGTERM is handled instead of ending the process
 * ```ts
 * import assert from "node:assert/strict";
 * import { onStopSignals } from "./_signals.ts";
 *
 * if (Deno.build.os !== "windows") {
 *   const received = Promise.withResolvers<Deno.Signal>();
 *   const stopListening = onStopSignals(received.resolve);
 *   // Signal listeners keep no process alive: the time limit does, while it waits.
 *   const timer = setTimeout(() => received.reject(new Error("No SIGTERM within 5 s")), 5000);
 *   Deno.kill(Deno.pid, "SIGTERM");
 *   assert.equal(await received.promise, "SIGTERM");
 *   clearTimeout(timer);
 *   stopListening();
 * }
 * ```
 */
export function onStopSignals(handler: (signal: Deno.Signal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
}
