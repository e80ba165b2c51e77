/**
 * The `shmooze` command line: `shmooze <serve|client|local|status|demo|ipc|bench> [options]`.
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
