import assert from "node:assert/strict";
import {
  type FanoutServer,
  formatFanoutReport,
  parseFanoutArgs,
  runFanout,
} from "../bench/fanout.ts";
import { UsageError } from "../src/cli/_args.ts";
import { peerAvailable } from "./_peers.ts";

/**
 * The benchmark's load generators that this process started (its children): another test run
 * on the same machine may have its own running, and they are not this test's to count.
 */
function generators(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (!cmdline.includes("_fanout_worker.ts") || !cmdline.includes(`"prefix"`)) continue;
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ")".
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === Deno.pid) pids.push(Number(entry.name));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

Deno.test("runFanout delivers every message to every other client and measures idle memory", async () => {
  const servers: FanoutServer[] = peerAvailable("ngircd") ? ["shmooze", "ngircd"] : ["shmooze"];
  const before = new Set(generators());
  const report = await runFanout({
    scenarios: [{ clients: 20, rate: 2 }],
    seconds: 2,
    servers,
    idle: 50,
    workers: 2,
    samplers: 3,
    drainMs: 20_000,
  });
  assert.deepEqual(report.runs.map((r) => r.server), servers);
  for (const run of report.runs) {
    assert.equal(run.error, undefined, `${run.server}: ${run.error}`);
    assert.equal(run.joined, 20, `${run.server} joined ${run.joined}: ${run.joinError}`);
    assert.equal(run.failedJoins, 0);
    assert.equal(run.offeredPerSecond, 20 * 2 * 19);
    // Every sampler saw every window message of the 19 others by the end of the drain.
    assert.equal(run.completeness, 1, `${run.server} completeness ${run.completeness}`);
    assert.ok(run.latency.samples >= 3 * 19 * 2 * 2 * 0.9, `${run.server}: ${run.latency.samples}`);
    assert.ok(run.latency.p50 > 0 && run.latency.p50 <= run.latency.p99);
    assert.ok(run.serverRssKiB > 0);
    assert.equal(run.disconnects, 0);
  }
  assert.deepEqual(report.idle.map((r) => [r.server, r.registered]), servers.map((s) => [s, 50]));
  assert.ok(report.idle.every((r) => r.rssAfterKiB > 0));
  const table = formatFanoutReport(report);
  for (const server of servers) assert.match(table, new RegExp(`\\| ${server} `));
  assert.match(table, /deliveries\/s/);
  assert.deepEqual(generators().filter((pid) => !before.has(pid)), [], "load generators left");
});

Deno.test("parseFanoutArgs reads one scenario and rejects unknown servers", () => {
  const { options, json } = parseFanoutArgs(
    ["--clients", "300", "--rate", "2", "--servers", "inspircd", "--idle", "0", "--json", "x.json"],
  );
  assert.deepEqual(options.scenarios, [{ clients: 300, rate: 2 }]);
  assert.deepEqual(options.servers, ["inspircd"]);
  assert.equal(options.idle, 0);
  assert.equal(json, "x.json");
  assert.equal(parseFanoutArgs([]).options.scenarios?.length, 3);
  assert.throws(() => parseFanoutArgs(["--servers", "unrealircd"]), UsageError);
  assert.throws(() => parseFanoutArgs(["--rate", "3"]), UsageError);
  assert.throws(() => parseFanoutArgs(["--clients", "1"]), UsageError);
});
