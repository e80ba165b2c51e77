/**
 * Command lines of the benchmark scripts (bench/cluster.ts, nats.ts, single_node.ts), which run
 * as their own processes: a bad option ends the script with one line and exit code 2, as the
 * CLI does, never a stack trace.
 *
 * @module
 */
import { UsageError } from "../src/cli/_args.ts";

/**
 * Reads a script's options; on a usage error prints it and exits with 2.
 *
 * @param read Parses the command line and reads every option.
 * @returns What `read` returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readOptions } from "./_usage.ts";
 * assert.equal(readOptions(() => 3), 3);
 * ```
 */
export function readOptions<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    Deno.exit(2);
  }
}
