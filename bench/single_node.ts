/**
 * The single-node default, before and after: the fan-out benchmark of one `serve` (no
 * `--cluster`, SQLite, no NATS) from an earlier commit and from this tree, run in turn —
 * before, after, before, after … — so both see the same noise of a shared machine. The earlier
 * commit is taken with `git archive` into a temporary directory (no worktree, nothing left
 * behind); each side runs its own bench/fanout.ts against its own main.ts.
 *
 * Run: `deno task bench single-node [--before REV] [--rounds 3] [--clients 1000] [--rate 3]
 * [--seconds 5] [--json FILE]`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { intOption, parseCommandArgs, stringOption } from "../src/cli/_args.ts";
import { ROOT } from "../tests/_helpers.ts";
import { benchEnvironment, describeEnvironment } from "./_env.ts";
import type { FanoutReport, FanoutRun } from "./fanout.ts";
import { markdownTable } from "./_table.ts";
import { readOptions } from "./_usage.ts";

/** main just before the merge of the cluster's first part (b9c210d): its first parent. */
const DEFAULT_BEFORE = "b9c210d^1";

const { before, rounds, clients, rate, seconds, json } = readOptions(() => {
  const { values } = parseCommandArgs("bench single-node", Deno.args, {
    before: { type: "string" },
    rounds: { type: "string" },
    clients: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    json: { type: "string" },
  });
  return {
    before: stringOption(values, "before", DEFAULT_BEFORE),
    rounds: intOption(values, "rounds", 3, { min: 1, max: 20 }),
    clients: intOption(values, "clients", 1000, { min: 2, max: 50_000 }),
    rate: intOption(values, "rate", 3, { min: 1, max: 100 }),
    seconds: intOption(values, "seconds", 5, { min: 1, max: 600 }),
    json: stringOption(
      values,
      "json",
      new URL("./results/single_node.json", import.meta.url).pathname,
    ),
  };
});

/** Runs a command in this checkout and returns its standard output; throws on failure. */
async function git(args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("git", { args, cwd: ROOT }).output();
  const decoder = new TextDecoder();
  if (!success) throw new Error(`git ${args.join(" ")} failed: ${decoder.decode(stderr).trim()}`);
  return decoder.decode(stdout).trim();
}

const beforeCommit = await git(["rev-parse", "--short", "--verify", `${before}^{commit}`]).catch(
  () => {
    console.error(`error: --before "${before}" is not a commit of this repository`);
    Deno.exit(2);
  },
);
const afterCommit = await git(["rev-parse", "--short", "HEAD"]);
const dirty = (await git(["status", "--porcelain", "--untracked-files=no"])) !== "";
const work = await Deno.makeTempDir({ prefix: "shmooze-bench-before-" });
const beforeTree = join(work, "tree");
await Deno.mkdir(beforeTree);

/** One side's fan-out run, through its own tree's bench/fanout.ts. */
async function fanout(tree: string, out: string): Promise<FanoutRun> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-all", "bench/fanout.ts", "--servers", "shmooze"],
      ...["--clients", String(clients), "--rate", String(rate), "--seconds", String(seconds)],
      ...["--idle", "0", "--json", out],
    ],
    cwd: tree,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const lines = new TextDecoder().decode(stderr).trim().split("\n");
    throw new Error(`bench/fanout.ts in ${tree} exited with ${code}: ${lines.at(-1)}`);
  }
  const report = JSON.parse(await Deno.readTextFile(out)) as FanoutReport;
  return report.runs[0];
}

interface SideRun {
  side: "before" | "after";
  commit: string;
  round: number;
  run: FanoutRun;
}

const runs: SideRun[] = [];
try {
  const archive = new Deno.Command("git", {
    args: ["archive", beforeCommit],
    cwd: ROOT,
    stdout: "piped",
  }).spawn();
  const untar = new Deno.Command("tar", { args: ["-x", "-C", beforeTree], stdin: "piped" })
    .spawn();
  await archive.stdout.pipeTo(untar.stdin);
  if (!(await archive.status).success || !(await untar.status).success) {
    throw new Error(`Cannot unpack ${beforeCommit} into ${beforeTree}`);
  }
  for (let round = 1; round <= rounds; round++) {
    for (
      const [side, tree, commit] of [
        ["before", beforeTree, beforeCommit],
        ["after", ROOT, afterCommit],
      ] as const
    ) {
      console.error(`${side} (${commit}), round ${round}: ${clients} clients × ${rate} msg/s …`);
      const run = await fanout(tree, join(work, `${side}-${round}.json`));
      console.error(
        `  ${run.error ?? `${run.deliveriesPerSecond.toLocaleString("en-US")} deliveries/s`}`,
      );
      runs.push({ side, commit, round, run });
    }
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
// The server's CPU time per 1000 lines delivered: the work a delivery costs, which a shared
// machine's scheduling changes far less than the rate a starved server reaches.
const cpuPerThousand = (run: FanoutRun) =>
  run.deliveriesPerSecond > 0 ? run.serverCpuPercent * 1e7 / run.deliveriesPerSecond : 0;
const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
console.log(markdownTable(
  [
    "side",
    "round",
    "deliveries/s",
    "offered/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "complete",
    "server CPU %",
    "CPU µs / 1000 deliveries",
    "server MiB",
  ],
  runs.map(({ side, commit, round, run }) =>
    run.error
      ? [`${side} ${commit}`, String(round), "failed", run.error, "", "", "", "", "", "", ""]
      : [
        `${side} ${commit}`,
        String(round),
        fmt(run.deliveriesPerSecond),
        fmt(run.offeredPerSecond),
        run.latency.p50.toFixed(1),
        run.latency.p99.toFixed(1),
        run.latency.p999.toFixed(1),
        run.completeness.toFixed(3),
        String(run.serverCpuPercent),
        cpuPerThousand(run).toFixed(0),
        (run.serverRssKiB / 1024).toFixed(0),
      ]
  ),
  1,
));
console.log();
console.log(markdownTable(
  ["side", "median deliveries/s", "median p50 ms", "median p99 ms", "median CPU µs / 1000"],
  (["before", "after"] as const).map((side) => {
    const mine = runs.filter((r) => r.side === side && !r.run.error).map((r) => r.run);
    return [
      `${side} ${side === "before" ? beforeCommit : afterCommit}`,
      fmt(median(mine.map((r) => r.deliveriesPerSecond))),
      median(mine.map((r) => r.latency.p50)).toFixed(1),
      median(mine.map((r) => r.latency.p99)).toFixed(1),
      median(mine.map(cpuPerThousand)).toFixed(0),
    ];
  }),
  1,
));
const environment = benchEnvironment();
console.log(
  `\n${clients} clients × ${rate} msg/s, ${seconds} s per run, before and after in turn ${rounds} ` +
    `time(s); after = this tree at ${afterCommit}${dirty ? " with uncommitted changes" : ""}\n${
      describeEnvironment(environment)
    }`,
);
await Deno.mkdir(dirname(json), { recursive: true });
await Deno.writeTextFile(
  json,
  `${
    JSON.stringify(
      { ...environment, beforeCommit, afterCommit, dirty, clients, rate, seconds, rounds, runs },
      null,
      2,
    )
  }\n`,
);
console.log(`results written to ${json}`);
Deno.exit(runs.some((r) => r.run.error) ? 1 : 0);
