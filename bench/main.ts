/**
 * The benchmarks' own entry point:
 * `deno task bench <ipc|fanout|history|search|cluster|nats|single-node|remote-members> [options]`.
 *
 * Benchmarks are tooling, not product: they start peers and load generators and reuse the
 * tests' helpers, so nothing here is imported by `main.ts` or ends up in the compiled
 * executable (`deno info main.ts` lists no file under bench/ or tests/).
 *
 * @module
 */
import { dirname } from "node:path";
import { intOption, parseCommandArgs, stringOption, UsageError } from "../src/cli/_args.ts";
import { FANOUT_HELP, runFanoutCommand } from "./fanout.ts";
import { formatIpcReport, runIpcBenchmark } from "./ipc.ts";

const DEFAULT_IPC_JSON = new URL("./results/ipc.json", import.meta.url).pathname;

const HELP = `Usage: deno task bench ipc [--messages N] [--json FILE]
       deno task bench fanout [options]
       deno task bench history [--messages N] [--queries N]
       deno task bench search [--messages N] [--queries N]
       deno task bench cluster [--messages N] [--in-flight N]
       deno task bench nats [--seconds 3] [--rounds 2] [--json FILE]
       deno task bench single-node [--before REV] [--rounds 3] [--clients 1000] [--rate 3]
                                   [--seconds 5] [--json FILE]
       deno task bench bus [--messages N] [--json FILE]
       deno task bench remote-members [--sends 20000] [--rounds 3]

Runs a benchmark and prints its table; the full results go to a JSON file under
bench/results/. docs/benchmarks.md has the numbers measured so far and what they mean.

  ipc      One-way latency (p50, p99, p99.9) and throughput of 64 B and 1 KiB messages
           between two processes: the shared-memory room vs a Unix socket vs TCP on
           loopback, all in one run; then the CPU use of an idle room reader. About
           half a minute on a 2-core machine.
  fanout   The chat server's fan-out to many clients, beside ngircd and InspIRCd (below)
  history  Append throughput and query latency of the SQLite history store
  search   Full-text search over a million stored messages: the index's build time and
           size, one-word, two-word and prefix query latency (about a minute)
  cluster  Three cluster nodes on a nats-server: a message's latency to its sender's answer
           and to another node's user, the rate, and each node's bus bytes per message
  nats     One JetStream stream's append rate (one ordering domain): 1, 64, 512 in flight,
           two publishers into one stream, two into two streams (about 40 s)
  single-node
           The fan-out benchmark of one serve from an earlier commit (default: main before
           the cluster merge) and from this tree, in turn (about 80 s)
  remote-members
           A hub's send to a channel holding 0 to 10 000 other nodes' users: left out
           of delivery (now) vs handed each message (before), in one process
  fanout --cluster 1,2,3
           One serve alone beside 1, 2 and 3 serve --cluster nodes under the same load:
           latency on the senders' node and the others, each node's NATS cost (fanout help)
  bus      The one-box bus of serve --workers: the shared-memory ring beside a local
           nats-server, 1, 2 and 4 writer processes: append rate, append→read p50/p99

Options for ipc:
  --messages N   Messages per throughput run, 1000 to 10000000 (default: 100000)
  --json FILE    Where to write the results (default: bench/results/ipc.json)

Examples:
  deno task bench ipc
  deno task bench ipc --messages 20000 --json /tmp/ipc.json
  deno task bench history --messages 200000

${FANOUT_HELP}`;

async function ipc(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("bench ipc", args, {
    messages: { type: "string" },
    json: { type: "string" },
  });
  const messages = intOption(values, "messages", 100_000, { min: 1000, max: 10_000_000 });
  const path = stringOption(values, "json", DEFAULT_IPC_JSON);
  const report = await runIpcBenchmark({ messages });
  console.log(formatIpcReport(report));
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results written to ${path}`);
  return 0;
}

/**
 * bench/history.ts, search.ts, cluster.ts, nats.ts, single_node.ts and bus.ts are scripts: each
 * runs as its own process.
 */
async function script(name: string, args: string[]): Promise<number> {
  const script = new URL(`./${name}.ts`, import.meta.url).pathname;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

/**
 * Runs one benchmark.
 *
 * @param args The subject and its options.
 * @returns The exit code: 0, 1 when a run failed, 2 for a bad command line.
 */
export async function main(args: string[]): Promise<number> {
  const [subject, ...rest] = args;
  try {
    switch (subject) {
      case "ipc":
        return await ipc(rest);
      case "fanout":
        return await runFanoutCommand(rest);
      case "history":
      case "search":
      case "cluster":
      case "nats":
      case "bus":
        return await script(subject, rest);
      case "single-node":
        return await script("single_node", rest);
      case "remote-members":
        return await script("remote_members", rest);
      case undefined:
      case "-h":
      case "--help":
        console.log(HELP);
        return subject === undefined ? 2 : 0;
      default:
        throw new UsageError(
          `unknown benchmark "${subject}"; the benchmarks are ipc, fanout, history, search, ` +
            "cluster, nats, single-node, bus, remote-members",
        );
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
