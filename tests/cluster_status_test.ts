/**
 * `shmooze status`, `/metrics` and the monitor page of real `serve --cluster` processes on a
 * real `nats-server -js`: a node's status board shows the cluster (its log sequence, lag, bus
 * and every node), `status --cluster` reads every node from NATS with no node on the machine,
 * `/metrics` labels each number with the node, and the monitor draws a Cluster panel. Bad input
 * ends in one line with the documented exit code.
 */
import assert from "node:assert/strict";
import type { ClusterCensus } from "../src/cluster/cluster_census.ts";
import type { StatusSnapshot } from "../src/ipc/mod.ts";
import { ARTIFACTS, newPage, withBrowser } from "./_browser.ts";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";

/** Runs `shmooze status` with these arguments. */
async function status(args: string[]) {
  await using child = spawn(["main.ts", "status", ...args]);
  await child.closeStdin();
  return await child.done;
}

/** The exit code, nothing on standard output, and one error line (a usage error adds a hint). */
function assertOneLine(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  pattern: RegExp,
): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  const [line, ...rest] = result.stderr.trimEnd().split("\n");
  assert.deepEqual(rest, code === 2 ? ["Run `shmooze --help` for usage."] : [], result.stderr);
  assert.match(line, /^error: /);
  assert.match(line, pattern);
}

Deno.test({
  name: "serve --cluster: status, status --cluster, /metrics and the monitor show every node",
  ignore: !natsAvailable(),
  // playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using nats = await startNats();
    const cluster = `st${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      for (const node of ["a", "b"]) {
        servers.push(
          await startServe({
            args: ["--cluster", nats.url, "--cluster-name", cluster, "--node-name", node],
            timeoutMs: 120_000,
            http: node === "a",
            status: node === "a",
          }),
        );
      }
      const [a, b] = servers;
      const nodeOf = async (server: ServeProcess) =>
        /^node (\S+) of cluster/.exec(await server.child.waitForLine(/^node /, 10_000))![1];
      const [nodeA, nodeB] = [await nodeOf(a), await nodeOf(b)];
      clients.push(await IrcTestClient.register(a.port, "ann"));
      clients.push(await IrcTestClient.register(b.port, "bob"));
      for (const client of clients) await client.join("#lobby");
      await clients[0].waitFor((m) =>
        m.command === "JOIN" && m.source?.startsWith("bob!") === true
      );
      await clients[1].send("PRIVMSG #lobby :hello from b");
      await clients[0].waitFor("PRIVMSG");

      await t.step(
        "status --port shows the node's cluster part, as a table and as JSON",
        async () => {
          // The board is published each second: wait until it shows b's user.
          let board: Partial<StatusSnapshot> = {};
          const deadline = Date.now() + 10_000;
          while (Date.now() < deadline) {
            const json = await status(["--port", String(a.port), "--json"]);
            assert.equal(json.code, 0, json.stderr);
            board = JSON.parse(json.stdout);
            if (board.cluster?.peers[0]?.users === 1) break;
          }
          assert.ok(board.cluster, "the board has a cluster part");
          assert.equal(board.cluster.cluster, cluster);
          assert.equal(board.cluster.node, nodeA);
          assert.equal(board.cluster.bus, "connected");
          assert.equal(board.cluster.localClients, 1);
          assert.equal(board.cluster.lag, board.cluster.head - board.cluster.applied);
          assert.ok(board.cluster.traffic.inBytes > 0);
          assert.deepEqual(
            board.cluster.peers.map((p) => [p.node, p.users]),
            [[nodeB, 1]],
          );
          const table = await status(["--port", String(a.port)]);
          assert.equal(table.code, 0, table.stderr);
          assert.match(
            table.stdout,
            new RegExp(`^cluster +${cluster}, node ${nodeA}, bus connected$`, "m"),
          );
          assert.match(table.stdout, /^log +applied \d+ of \d+, lag \d+, refused 0$/m);
          assert.match(table.stdout, /^bus traffic +in \S+ k?B \(\d+ msgs\), out /m);
          assert.match(
            table.stdout,
            new RegExp(`^ +${nodeA} \\(this\\) +1 +\\d+ +\\d+ +now$`, "m"),
          );
          assert.match(table.stdout, new RegExp(`^ +${nodeB} +1 +\\d+ +\\d+ +`, "m"));
        },
      );

      await t.step("status --cluster reads both nodes from NATS alone", async () => {
        const json = await status(["--cluster", nats.url, "--cluster-name", cluster, "--json"]);
        assert.equal(json.code, 0, json.stderr);
        const census: ClusterCensus = JSON.parse(json.stdout);
        assert.deepEqual(
          census.nodes.map((n) => [n.node, n.clients]),
          [[nodeA, 1], [nodeB, 1]],
        );
        for (const node of census.nodes) assert.equal(node.lag, census.head - node.applied);
        const table = await status(["--cluster", nats.url, "--cluster-name", cluster]);
        assert.equal(table.code, 0, table.stderr);
        const lines = table.stdout.split("\n");
        assert.match(
          lines[0],
          new RegExp(`^cluster ${cluster} at ${nats.url}: 2 nodes, log at \\d+$`),
        );
        assert.match(lines[1], /^NODE +USERS +APPLIED +LAG +REFUSED +UP +HEARD +BUS IN \/ OUT$/);
        assert.match(
          lines[2],
          new RegExp(`^${nodeA} +1 +\\d+ +\\d+ +0 +\\S+ +(now|\\d\\.\\d s ago) +\\S+ k?B / `),
        );
      });

      await t.step("/metrics labels the node's lag, log head, bus state and traffic", async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${a.httpPort}/metrics`)).text();
        const node = `node="${nodeA}"`;
        assert.match(
          metrics,
          new RegExp(`^shmooze_cluster_bus_state\\{${node},state="connected"\\} 1$`, "m"),
        );
        assert.match(
          metrics,
          new RegExp(`^shmooze_cluster_bus_state\\{${node},state="reconnecting"\\} 0$`, "m"),
        );
        assert.match(
          metrics,
          new RegExp(
            `^shmooze_cluster_bus_bytes_total\\{${node},direction="in"\\} [1-9]\\d*$`,
            "m",
          ),
        );
        assert.match(
          metrics,
          new RegExp(
            `^shmooze_cluster_bus_messages_total\\{${node},direction="out"\\} [1-9]\\d*$`,
            "m",
          ),
        );
        assert.match(
          metrics,
          new RegExp(`^shmooze_cluster_log_last_sequence\\{${node}\\} [1-9]\\d*$`, "m"),
        );
        assert.match(metrics, new RegExp(`^shmooze_cluster_lag_entries\\{${node}\\} \\d+$`, "m"));
        assert.match(
          metrics,
          new RegExp(`^shmooze_cluster_peer_users\\{${node},peer="${nodeB}"\\} 1$`, "m"),
        );
      });

      await t.step("the monitor page has a Cluster panel with both nodes", async () => {
        await withBrowser(async (browser) => {
          const { page } = await newPage(browser);
          await page.goto(`http://127.0.0.1:${a.httpPort}/monitor`);
          await page.locator("#cluster-bus", { hasText: "connected" }).waitFor();
          await page.locator(`#cluster-nodes tr[data-node='${nodeB}']`).waitFor();
          assert.equal(await page.textContent("#cluster-name"), cluster);
          const rows = page.locator("#cluster-nodes tr");
          assert.equal(await rows.count(), 2);
          assert.equal(await rows.nth(0).getAttribute("data-node"), nodeA);
          assert.equal(await rows.nth(0).locator("td").first().textContent(), "1");
          await page.locator("#cluster").screenshot({ path: `${ARTIFACTS}monitor_cluster.png` });
          await page.screenshot({ path: `${ARTIFACTS}monitor_cluster_page.png`, fullPage: true });
        });
      });

      await t.step(
        "bad input ends in one line: exit 2 for usage, 1 for no cluster there",
        async () => {
          assertOneLine(
            await status(["--cluster", "http://x:1"]),
            2,
            /--cluster must be a NATS URL/,
          );
          assertOneLine(
            await status(["--cluster", nats.url, "--port", String(a.port)]),
            2,
            /--port cannot be used with --cluster/,
          );
          assertOneLine(
            await status(["--cluster-name", cluster]),
            2,
            /--cluster-name needs --cluster/,
          );
          assertOneLine(
            await status(["--cluster", nats.url, "--cluster-ca", "/nonexistent"]),
            2,
            /--cluster-ca needs a tls:\/\/ URL/,
          );
          assertOneLine(
            await status(["--cluster", nats.url, "--cluster-name", `${cluster}-none`]),
            1,
            new RegExp(
              `^error: No cluster "${cluster}-none" at ${nats.url}: its log \\(stream SHMOOZE_${cluster}-none\\) does not exist$`,
            ),
          );
        },
      );
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
      for (const server of servers) await server[Symbol.asyncDispose]();
    }
  },
});
