import { dirname } from "node:path";
import { formatIpcReport, runIpcBenchmark } from "../../bench/ipc.ts";
import { FANOUT_HELP, runFanoutCommand } from "../../bench/fanout.ts";
import { intOption, parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import type { Command } from "./command.ts";

const DEFAULT_IPC_JSON = new URL("../../bench/results/ipc.json", import.meta.url).pathname;

const help = `Usage: shmooze bench ipc [--messages N] [--json FILE]
       shmooze bench fanout [options]

Runs a benchmark and prints its table; the full results go to a JSON file.

  ipc      One-way latency (p50, p99, p99.9) and throughput of 64 B and 1 KiB messages
           between two processes: the shared-memory room vs a Unix socket vs TCP on
           loopback, all in one run; then the CPU use of an idle room reader. About
           half a minute on a 2-core machine.
  fanout   The chat server's fan-out to many clients, beside ngircd and InspIRCd (below)

Options for ipc:
  --messages N   Messages per throughput run, 1000 to 10000000 (default: 100000)
  --json FILE    Where to write the results (default: bench/results/ipc.json)

Examples:
  shmooze bench ipc
  shmooze bench ipc --messages 20000 --json /tmp/ipc.json

${FANOUT_HELP}`;

/** `shmooze bench SUBJECT`: dispatches to the benchmarks under bench/. */
export const benchCommand: Command = {
  name: "bench",
  summary: "Run a benchmark (ipc, fanout)",
  help,
  async run(args) {
    // fanout has many options of its own, parsed by the benchmark itself.
    if (args[0] === "fanout") return await runFanoutCommand(args.slice(1));
    const { values, positionals } = parseCommandArgs("bench", args, {
      messages: { type: "string" },
      json: { type: "string" },
    }, 1);
    const subject = positionals[0];
    if (subject === "ipc") {
      const messages = intOption(values, "messages", 100_000, { min: 1000, max: 10_000_000 });
      const path = stringOption(values, "json", DEFAULT_IPC_JSON);
      const report = await runIpcBenchmark({ messages });
      console.log(formatIpcReport(report));
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`results written to ${path}`);
      return 0;
    }
    throw new UsageError(
      subject === undefined
        ? "bench needs a subject: ipc or fanout"
        : `bench: unknown subject "${subject}"; use ipc or fanout`,
    );
  },
};
