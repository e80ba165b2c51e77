import assert from "node:assert/strict";
import {
  type FanoutServer,
  formatFanoutReport,
  parseFanoutArgs,
  runFanout,
} from "../bench/fanout.ts";
import { UsageError } from "../src/cli/_args.ts";
import { natsAvailable } from "./_nats.ts";
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

Deno.test("parseFanoutArgs reads cluster mode: node counts, senders, rounds, its own defaults", () => {
  const { options, json } = parseFanoutArgs(["--cluster", "1,3", "--clients", "90"]);
  assert.deepEqual(options.cluster, [1, 3]);
  assert.deepEqual(options.scenarios, [{ clients: 90, rate: 1, senders: 30 }]);
  assert.equal(options.rounds, 2);
  assert.equal(options.idle, 0);
  assert.match(json, /fanout_cluster\.json$/);
  const custom = parseFanoutArgs(
    ["--cluster", "2", "--clients", "50", "--senders", "5", "--rate", "4", "--rounds", "3"],
  ).options;
  assert.deepEqual(custom.scenarios, [{ clients: 50, rate: 4, senders: 5 }]);
  assert.equal(custom.rounds, 3);
  for (
    const bad of [
      ["--cluster", "0"],
      ["--cluster", "2,2"],
      ["--cluster", "9"],
      ["--cluster", "2", "--servers", "ngircd"],
      ["--cluster", "2", "--idle", "10"],
      ["--cluster", "2", "--senders", "3"],
      ["--cluster", "2", "--clients", "10", "--senders", "11"],
    ]
  ) {
    assert.throws(() => parseFanoutArgs(bad), UsageError, bad.join(" "));
  }
});

Deno.test({
  name:
    "runFanout in cluster mode delivers across two serve --cluster nodes and counts each node's bus cost",
  ignore: !natsAvailable(),
  fn: async () => {
    const before = new Set(generators());
    const report = await runFanout({
      cluster: [2],
      scenarios: [{ clients: 20, rate: 4, senders: 4 }],
      seconds: 2,
      rounds: 1,
      workers: 2,
      samplers: 4,
      drainMs: 20_000,
    });
    assert.deepEqual(report.runs.map((r) => r.nodes), [0, 2]);
    assert.deepEqual(report.idle, []);
    for (const run of report.runs) {
      assert.equal(run.error, undefined, `${run.nodes} nodes: ${run.error}`);
      assert.equal(run.joined, 20, `${run.nodes} nodes joined ${run.joined}: ${run.joinError}`);
      assert.equal(run.senders, 4);
      assert.equal(run.offeredPerSecond, 4 * 4 * 19);
      // Every sampler, on either node, saw every window message by the end of the drain.
      assert.equal(run.completeness, 1, `${run.nodes} nodes: completeness ${run.completeness}`);
      assert.equal(run.disconnects, 0);
    }
    const [alone, cluster] = report.runs;
    assert.equal(alone.latencyByNode?.length, 1);
    assert.equal(alone.busPerEntry, undefined);
    // Samplers on both nodes: the senders' node 0 and node 1, which only reads the log.
    assert.ok(cluster.latencyByNode!.every((p) => p.samples > 0), "a node without samples");
    // The window's ends are read a moment apart on both counts: about equal, not equal.
    const appended = cluster.appended ?? 0;
    assert.ok(
      Math.abs(appended - cluster.sent) <= Math.max(4, cluster.sent / 4),
      `appended ${appended} in the window, sent ${cluster.sent}`,
    );
    const [appending, reading] = cluster.busPerEntry!;
    // Each node gets each entry once; the appending node also publishes it and gets its ack.
    assert.ok(reading.inMsgs >= 1 && reading.inMsgs < 1.5, `node 1 in: ${reading.inMsgs}`);
    assert.ok(reading.outMsgs < 0.5, `node 1 out: ${reading.outMsgs}`);
    assert.ok(appending.inMsgs >= 2 && appending.inMsgs < 2.5, `node 0 in: ${appending.inMsgs}`);
    assert.ok(
      appending.outMsgs >= 1 && appending.outMsgs < 1.5,
      `node 0 out: ${appending.outMsgs}`,
    );
    assert.ok(reading.inBytes > 150, `node 1 bytes in: ${reading.inBytes}`);
    const table = formatFanoutReport(report);
    assert.match(table, /\| alone /);
    assert.match(table, /\| 2 nodes /);
    assert.match(table, /0 \(senders\)/);
    assert.deepEqual(generators().filter((pid) => !before.has(pid)), [], "load generators left");
  },
});
