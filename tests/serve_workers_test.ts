/**
 * `serve --workers N`: real processes sharing one port (SO_REUSEPORT), one chat through the
 * shared-memory ring (or NATS with --cluster). Connections land on both workers; a channel
 * spans them with one msgid; a worker killed with SIGKILL has its users quit for the others
 * within 5 s and the parent says so and starts a new one; SIGTERM leaves no process and no
 * shared memory behind; a worker that cannot start makes the parent exit 1.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { spawn, waitUntil } from "./_helpers.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { connectDevice, registeredUser } from "./_accounts.ts";
import { FileSnapshotStore } from "../src/cluster/file_snapshot_store.ts";
import { SNAPSHOT_FILE } from "../src/cli/_workers.ts";
import { LogRing } from "../src/ipc/log_ring.ts";

const CAPS = ["message-tags", "echo-message", "server-time"];
const linux = Deno.build.os === "linux";

/** The worker pids the parent printed, worker 1 first. */
async function workerPids(server: ServeProcess): Promise<number[]> {
  const line = await server.child.waitForLine(/^\d+ workers \(pids [\d, ]+\) share these ports/);
  return /pids ([\d, ]+)\)/.exec(line)![1].split(", ").map(Number);
}

function running(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].startsWith("Z");
  } catch {
    return false;
  }
}

/** The worker a client landed on: its echo's msgid starts with the worker's node name. */
async function workerOf(client: IrcTestClient, nick: string): Promise<string> {
  const text = `where is ${nick}`;
  await client.send(`PRIVMSG #lobby :${text}`);
  const echo = await client.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === text);
  return /^(w\d+)-/.exec(echo.tags.msgid ?? "")?.[1] ?? "";
}

/**
 * Registers clients in #lobby until one is on worker 1 and one on worker 2 (Linux spreads
 * connections by a hash of their addresses: a handful is enough), within 30 s; the others are
 * closed again, so no worker sees many connections from this address.
 */
async function clientsOnBoth(
  port: number,
  clients: IrcTestClient[],
  prefix = "u",
): Promise<{ on1: IrcTestClient; on2: IrcTestClient }> {
  const found = new Map<string, IrcTestClient>();
  const deadline = Date.now() + 30_000;
  for (let i = 0; !(found.has("w1") && found.has("w2")); i++) {
    if (Date.now() > deadline) throw new Error(`Clients landed only on ${[...found.keys()]}`);
    const nick = `${prefix}${i}`;
    const client = await IrcTestClient.register(port, nick, { caps: CAPS });
    await client.join("#lobby");
    const worker = await workerOf(client, nick);
    if (found.has(worker)) {
      await client.close();
      continue;
    }
    found.set(worker, client);
    clients.push(client);
  }
  return { on1: found.get("w1")!, on2: found.get("w2")! };
}

async function channelSpansWorkers(server: ServeProcess, clients: IrcTestClient[]) {
  const { on1, on2 } = await clientsOnBoth(server.port, clients);
  await on2.waitFor((m) => m.command === "JOIN" && m.source?.startsWith(`${on1.nick}!`) === true)
    .catch(() => undefined);
  const text = "hello across workers";
  await on1.send(`PRIVMSG #lobby :${text}`);
  const isHello = (m: Received) => m.command === "PRIVMSG" && m.params[1] === text;
  const [echo, there] = await Promise.all([on1.waitFor(isHello), on2.waitFor(isHello)]);
  assert.ok(echo.tags.msgid?.startsWith("w1-"));
  assert.equal(there.tags.msgid, echo.tags.msgid, "the same msgid on both workers");
  assert.match(there.line, new RegExp(`:${on1.nick}!${on1.nick}@127\\.0\\.0\\.1 PRIVMSG #lobby`));
}

Deno.test({
  name:
    "serve --workers 2: connections land on both workers, a channel spans them with one msgid, SIGTERM leaves no process and no shared memory",
  ignore: !linux,
  async fn() {
    const clients: IrcTestClient[] = [];
    const server = await startServe({ args: ["--workers", "2"], timeoutMs: 120_000, http: true });
    let pids: number[] = [];
    try {
      pids = await workerPids(server);
      assert.equal(pids.length, 2);
      // The HTTP port is shared too: each new connection's /metrics names the worker that took it.
      const answered = new Set<string>();
      for (let i = 0; i < 40 && answered.size < 2; i++) {
        const client = Deno.createHttpClient({});
        try {
          const response = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`, { client });
          const node = /shmooze_cluster_applied_sequence\{node="(w\d+)-/.exec(
            await response.text(),
          );
          if (node) answered.add(node[1]);
        } finally {
          client.close();
        }
      }
      assert.deepEqual([...answered].sort(), ["w1", "w2"]);
      const ring = /over the shared-memory ring (\S+)$/.exec(server.child.lines.at(-1)!)?.[1];
      assert.ok(ring && Deno.statSync(`/dev/shm/${ring}`).isFile, "the ring is in /dev/shm");
      await channelSpansWorkers(server, clients);
      for (const client of clients) await client.close();
      clients.length = 0;
      server.child.process.kill("SIGTERM");
      const { code } = await server.child.done;
      assert.equal(code, 0);
      assert.deepEqual(pids.filter(running), [], "no worker is left");
      assert.equal(
        [...Deno.readDirSync("/dev/shm")].some((entry) => entry.name === ring),
        false,
        "the ring is removed",
      );
      const ls = spawn(["main.ts", "ipc", "ls"]);
      const listed = await ls.done;
      assert.equal(listed.stdout.includes(ring), false, "`ipc ls` does not list it");
    } finally {
      for (const client of clients) await client.close();
      await server[Symbol.asyncDispose]();
      for (const pid of pids.filter(running)) Deno.kill(pid, "SIGKILL");
    }
  },
});

Deno.test({
  name:
    "serve --workers 2: a worker killed with SIGKILL has its users quit for the others within 5 s; the parent says so and starts a new worker",
  ignore: !linux,
  async fn() {
    const clients: IrcTestClient[] = [];
    const server = await startServe({ args: ["--workers", "2"], timeoutMs: 120_000 });
    let pids: number[] = [];
    try {
      pids = await workerPids(server);
      const { on1, on2 } = await clientsOnBoth(server.port, clients);
      Deno.kill(pids[1], "SIGKILL");
      const started = Date.now();
      const quit = await on1.waitFor(
        (m) => m.command === "QUIT" && m.source?.startsWith(`${on2.nick}!`) === true,
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `the quit came after ${elapsed} ms`);
      assert.equal(quit.params[0], "Worker 2 stopped", "the parent declared it gone");
      // Worker 1 serves on, and the worker started in 2's place joins the chat: a new client
      // on it reaches on1.
      const { on2: again } = await clientsOnBoth(server.port, clients, "v");
      const text = "from the new worker";
      await again.send(`PRIVMSG #lobby :${text}`);
      await on1.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === text);
      server.child.process.kill("SIGTERM");
      const { code, stderr } = await server.child.done;
      assert.equal(code, 0);
      assert.match(
        stderr,
        new RegExp(
          `Worker 2 \\(pid ${
            pids[1]
          }\\) ended \\("?signal SIGKILL"?\\): the others quit its users; starting a new worker 2`,
        ),
      );
      assert.match(stderr, /Worker 2 started again \(pid \d+\)/);
    } finally {
      for (const client of clients) await client.close();
      await server[Symbol.asyncDispose]();
      for (const pid of pids.filter(running)) Deno.kill(pid, "SIGKILL");
    }
  },
});

/** The sequence of the workers' snapshot in a data directory, or 0 when there is none. */
async function snapshotSeq(dataDir: string): Promise<number> {
  return (await new FileSnapshotStore(`${dataDir}/${SNAPSHOT_FILE}`).newest())?.seq ?? 0;
}

Deno.test({
  name:
    "serve --workers 2: once the ring has gone round, a dead worker is replaced from the workers' snapshot and agrees with the other",
  ignore: !linux,
  async fn() {
    const clients: IrcTestClient[] = [];
    const server = await startServe({
      args: ["--workers", "2", "--ring-size", "65536", "--flood-burst", "0"],
      timeoutMs: 120_000,
    });
    let pids: number[] = [];
    try {
      pids = await workerPids(server);
      const { on1, on2 } = await clientsOnBoth(server.port, clients);
      await on1.send("TOPIC #lobby :set before the ring went round");
      await on1.waitFor("TOPIC");
      // 300 events of some 300 bytes: the 64 KiB ring goes round more than once.
      const filler = "x".repeat(200);
      await on1.send(
        Array.from({ length: 300 }, (_, n) => `PRIVMSG #lobby :${n} ${filler}`).join("\r\n"),
      );
      await on1.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === `299 ${filler}`);
      await on2.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === `299 ${filler}`);
      const ring = /over the shared-memory ring (\S+)$/.exec(server.child.lines.at(-1)!)![1];
      const opened = LogRing.open(ring);
      const last = opened.lastSeq;
      const tail = opened.tailSeq;
      opened.close();
      assert.ok(tail > 1, `the ring went round (it holds entries ${tail} to ${last})`);
      // The workers write their snapshot every 10 s when the log moved.
      await waitUntil(async () => await snapshotSeq(server.dataDir) >= last, 20_000, "a snapshot");
      Deno.kill(pids[1], "SIGKILL");
      await on1.waitFor((m) =>
        m.command === "QUIT" && m.source?.startsWith(`${on2.nick}!`) === true
      );
      const { on2: again } = await clientsOnBoth(server.port, clients, "v");
      const topic = await again.reply("TOPIC #lobby");
      assert.equal(
        topic.find((m) => m.command === "332")?.params.at(-1),
        "set before the ring went round",
        "the new worker 2 knows what the ring no longer holds",
      );
      const names = async (client: IrcTestClient) =>
        (await client.reply("NAMES #lobby")).find((m) => m.command === "353")?.params.at(-1)
          ?.split(" ").map((nick) => nick.replace(/^[@+]/, "")).sort();
      assert.deepEqual(await names(again), await names(on1), "both workers see one channel");
      const text = "from the new worker";
      await again.send(`PRIVMSG #lobby :${text}`);
      await on1.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === text);
      server.child.process.kill("SIGTERM");
      const { code, stderr } = await server.child.done;
      assert.equal(code, 0);
      assert.match(stderr, /Worker 2 started again \(pid \d+\)/);
    } finally {
      for (const client of clients) await client.close();
      await server[Symbol.asyncDispose]();
      for (const pid of pids.filter(running)) Deno.kill(pid, "SIGKILL");
    }
  },
});

Deno.test({
  name:
    "serve --workers 2 started again on its data directory keeps its ChanServ registrations and always-on users",
  ignore: !linux,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-workers-restart-" });
    const clients: IrcTestClient[] = [];
    const client = (made: IrcTestClient) => (clients.push(made), made);
    let pids: number[] = [];
    try {
      {
        await using server = await startServe({
          args: ["--workers", "2", "--flood-burst", "0"],
          dataDir,
          timeoutMs: 120_000,
        });
        pids = await workerPids(server);
        const ann = client(await registeredUser(server.port, "ann"));
        await ann.join("#reg");
        await ann.send("CS REGISTER #reg");
        await ann.waitFor((m) =>
          m.command === "NOTICE" && /is registered to ann/.test(m.params[1])
        );
        const zoe = client(await registeredUser(server.port, "zoe"));
        await zoe.join("#c");
        await zoe.send("NICKSERV SET ALWAYS-ON ON");
        await zoe.waitFor((m) => m.command === "NOTICE" && /^Always-on is on/.test(m.params[1]));
        server.child.process.kill("SIGTERM");
        const { code } = await server.child.done;
        assert.equal(code, 0);
        for (const made of clients.splice(0)) await made.close();
      }
      assert.ok(await snapshotSeq(dataDir) > 0, "the workers left their snapshot");
      // As a worker killed while writing would leave it.
      const leftover = `${dataDir}/.${SNAPSHOT_FILE}.k1ll3d.tmp`;
      await Deno.writeTextFile(leftover, "half a snapshot");
      await using server = await startServe({
        args: ["--workers", "2", "--flood-burst", "0"],
        dataDir,
        timeoutMs: 120_000,
      });
      pids = await workerPids(server);
      await assert.rejects(Deno.stat(leftover), Deno.errors.NotFound, "the leftover is removed");
      const { on1, on2 } = await clientsOnBoth(server.port, clients);
      for (const viewer of [on1, on2]) {
        await viewer.send("CS INFO #reg");
        const info = await viewer.waitFor("NOTICE");
        assert.match(info.params[1], /^#reg is registered to ann/, `${viewer.nick}: ${info.line}`);
        const names = (await viewer.reply("NAMES #c")).find((m) => m.command === "353");
        const nicks = names?.params.at(-1)?.split(" ").map((nick) => nick.replace(/^[@+]/, ""));
        assert.ok(nicks?.includes("zoe"), `zoe in #c (${viewer.nick})`);
      }
      // zoe is still always-on: a device of hers is put back in #c.
      const { client: zoe } = await connectDevice(server.port, "zoe");
      client(zoe);
      await zoe.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
    } finally {
      for (const made of clients) await made.close();
      for (const pid of pids.filter(running)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serve --workers refuses a corrupt snapshot file with one line and exit 1, starting no worker",
  ignore: !linux,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-workers-corrupt-" });
    try {
      for (
        const [bytes, reason] of [
          ["not a snapshot\n", /its first line is not a snapshot header/],
          [
            '{"v":1,"kind":"snapshot","seq":7,"time":1}\n{"v":1,"kind":"quit"}\n',
            /Snapshot line 2/,
          ],
        ] as const
      ) {
        await Deno.writeTextFile(`${dataDir}/${SNAPSHOT_FILE}`, bytes);
        await using child = spawn([
          ...["main.ts", "serve", "--host", "127.0.0.1", "--port", "0", "--no-http"],
          ...["--no-status", "--data", dataDir, "--workers", "2"],
        ], { timeoutMs: 60_000 });
        const { code, stdout, stderr } = await child.done;
        assert.equal(code, 1, stderr);
        const lines = stderr.split("\n").filter((line) => line.trim() !== "");
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0], /^error: The workers' snapshot \S+workers\.snapshot is refused/);
        assert.match(lines[0], reason);
        assert.doesNotMatch(stdout, /listening on/);
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serve --workers 2: workers stop when their parent is killed with SIGKILL, and `ipc clean` removes the ring it left",
  ignore: !linux,
  async fn() {
    const server = await startServe({ args: ["--workers", "2"], timeoutMs: 120_000 });
    let pids: number[] = [];
    try {
      pids = await workerPids(server);
      const ring = /over the shared-memory ring (\S+)$/.exec(server.child.lines.at(-1)!)![1];
      server.child.process.kill("SIGKILL");
      await server.child.done;
      await waitUntil(() => !pids.some(running), 10_000, "the workers to stop");
      assert.deepEqual(pids.filter(running), [], "the workers stopped");
      const ls = await spawn(["main.ts", "ipc", "ls", "--filter", ring]).done;
      assert.match(
        ls.stdout,
        new RegExp(`^bus\\s+${ring}\\s+\\d+\\s+\\d+\\s+stale\\s+serve --workers ring`, "m"),
      );
      const clean = await spawn(["main.ts", "ipc", "clean", "--filter", ring]).done;
      assert.match(clean.stdout, new RegExp(`^removed ${ring}$`, "m"));
      assert.equal([...Deno.readDirSync("/dev/shm")].some((entry) => entry.name === ring), false);
    } finally {
      await server[Symbol.asyncDispose]();
      for (const pid of pids.filter(running)) Deno.kill(pid, "SIGKILL");
    }
  },
});

Deno.test({
  name: "serve --workers 2 --cluster nats://…: the workers are one chat through NATS",
  ignore: !linux || !natsAvailable(),
  async fn() {
    await using nats = await startNats();
    const cluster = `workers${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const clients: IrcTestClient[] = [];
    const server = await startServe({
      args: ["--workers", "2", "--cluster", nats.url, "--cluster-name", cluster],
      timeoutMs: 120_000,
    });
    try {
      const line = await server.child.waitForLine(/^2 workers/);
      assert.match(line, new RegExp(`as nodes of cluster ${cluster} at ${nats.url}$`));
      await channelSpansWorkers(server, clients);
    } finally {
      for (const client of clients) await client.close();
      await server[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "serve --workers: a worker that cannot start stops the others and the parent exits 1 saying why",
  ignore: !linux,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "shmooze-workers-test-" });
    try {
      // The data directory is a file: no worker can keep its data under it.
      const file = `${dir}/file`;
      await Deno.writeTextFile(file, "");
      await using child = spawn([
        "main.ts",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-http",
        "--no-status",
        "--data",
        file,
        "--workers",
        "2",
      ], { timeoutMs: 60_000 });
      const { code, stderr } = await child.done;
      assert.equal(code, 1);
      assert.match(stderr, /^error: Worker [12] could not start: .*file/m);
      assert.equal(
        [...Deno.readDirSync("/dev/shm")].some((entry) =>
          /-bus-serve-/.test(entry.name) && entry.name.includes(String(Deno.pid))
        ),
        false,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve --workers refuses a count out of range and --local-room; --ring-size needs --workers and a size in range", async () => {
  for (
    const [args, message] of [
      [["--workers", "0"], /--workers must be/],
      [["--workers", "2", "--local-room", "lobby"], /--local-room cannot be used with --workers/],
      [["--ring-size", "65536"], /--ring-size needs --workers without --cluster/],
      [["--workers", "2", "--ring-size", "1000"], /--ring-size must be a whole number from 65536/],
      [["--workers", "2", "--ring-size", "65544"], /--ring-size must be a multiple of 16/],
    ] as const
  ) {
    await using child = spawn(["main.ts", "serve", "--no-http", "--no-status", ...args]);
    const { code, stderr } = await child.done;
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
  }
});
