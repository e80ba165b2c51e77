import assert from "node:assert/strict";
import {
  IpcError,
  objectName,
  SharedMemory,
  StatusBoard,
  type StatusSnapshot,
} from "../src/ipc/mod.ts";
import { statusRecord } from "./fixtures/status_writer.ts";
import { assertNoLeftovers, type Child, spawn } from "./_helpers.ts";
import { startServe } from "./_irc.ts";
import { unlinkIfPresent } from "../src/ipc/_unlink.ts";

/**
 * A port for one test's board, held open for the test: a board is named after its port, and
 * while this test holds it no other test (nor server, nor doc example) can be given it.
 */
function holdPort(): Deno.TcpListener {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

function boardPrefix(port: number): string {
  return objectName("status", String(port));
}

/**
 * Runs a test body while a fixture writer owns the board of `port`. If the body fails after
 * the writer was SIGKILLed, removes the board it left, so one failure leaves no OS objects.
 */
async function withWriter(
  mode: "once" | "loop",
  port: number,
  body: (writer: Child) => Promise<void>,
): Promise<void> {
  try {
    await using writer = spawn(["tests/fixtures/status_writer.ts", mode, String(port)]);
    await writer.waitForLine("ready");
    await body(writer);
  } catch (error) {
    try {
      StatusBoard.create(port).close();
    } catch { /* a live writer still owns it, or it is gone: nothing of ours to remove */ }
    throw error;
  }
}

/** Runs `shmooze status` with arguments and collects its exit status and output. */
async function status(...args: string[]) {
  await using child = spawn(["main.ts", "status", ...args]);
  await child.closeStdin();
  return await child.done;
}

/** Fails unless every field of the snapshot comes from one and the same update. */
function assertWhole(seen: StatusSnapshot): void {
  const n = seen.totalMessages;
  const expected = statusRecord(n);
  assert.equal(seen.clients, expected.clients, `clients torn at update ${n}`);
  assert.equal(seen.channels, expected.channels, `channels torn at update ${n}`);
  assert.equal(seen.messagesPerSecond, expected.messagesPerSecond, `rate torn at update ${n}`);
  assert.deepEqual(seen.clientsByTransport, {
    tcp: n % 7,
    tls: 0,
    websocket: n % 11,
    local: n % 13,
  });
  const last = seen.lastMessage!;
  assert.equal(last.sender, expected.lastMessage!.sender, `sender torn at update ${n}`);
  assert.equal(last.target, expected.lastMessage!.target, `target torn at update ${n}`);
  assert.equal(last.time, n * 1000, `time torn at update ${n}`);
  const fullText = expected.lastMessage!.text;
  const size = new TextEncoder().encode(last.text).length;
  assert.ok(fullText.startsWith(last.text), `text torn at update ${n}`);
  assert.ok(size <= 1024, `text of ${size} bytes`);
  // Cut only where the whole text would not fit, and then by less than one character.
  if (last.text !== fullText) assert.ok(size > 1022, `text cut short at ${size} bytes`);
}

Deno.test("StatusBoard: a reader never sees a torn record while the writer publishes nonstop", async () => {
  using held = holdPort();
  const port = held.addr.port;
  await withWriter("loop", port, async (writer) => {
    const seen = new Set<number>();
    let reads = 0;
    let busy = 0;
    // Thousands of reads, and until the writer has visibly moved on many times.
    while (reads < 5_000 || seen.size < 100) {
      let snapshot: StatusSnapshot;
      try {
        snapshot = StatusBoard.read(port);
      } catch (error) {
        // On a loaded machine the writer can be descheduled mid-update for the whole read
        // budget: the reader says so (EBUSY) rather than return a torn record, as it must.
        if (!(error instanceof IpcError) || error.code !== "EBUSY" || ++busy > 20) throw error;
        continue;
      }
      assert.equal(snapshot.stale, false);
      assert.equal(snapshot.port, port);
      if (snapshot.totalMessages > 0) {
        assertWhole(snapshot);
        seen.add(snapshot.totalMessages);
      }
      reads++;
      assert.ok(reads < 2_000_000, "the writer did not make progress");
    }
    await writer.closeStdin();
    const result = await writer.done;
    assert.equal(result.code, 0, result.stderr);
  });
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("StatusBoard: a board whose server was SIGKILLed is stale, and create() reclaims it", async () => {
  using held = holdPort();
  const port = held.addr.port;
  await withWriter("once", port, async (writer) => {
    const live = StatusBoard.read(port);
    assert.equal(live.stale, false);
    assert.equal(live.pid, writer.process.pid);
    assert.throws(() => StatusBoard.create(port), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "EBUSY");
      // What failed and why; what to do about it is the command line's to say.
      assert.equal(
        error.message,
        `Cannot create status board "${boardPrefix(port)}": a running server ` +
          `(pid ${writer.process.pid}) owns it (EBUSY)`,
      );
      return true;
    });
    writer.process.kill("SIGKILL");
    await writer.done;
    const dead = StatusBoard.read(port);
    assert.equal(dead.stale, true);
    assert.equal(dead.totalMessages, 7);
    assert.equal(dead.uptimeMs, dead.updatedAt - dead.startedAt);
    assert.ok(StatusBoard.list().some((s) => s.port === port && s.stale));
  });
  const board = StatusBoard.create(port);
  try {
    const fresh = StatusBoard.read(port);
    assert.equal(fresh.pid, Deno.pid);
    assert.equal(fresh.stale, false);
    assert.equal(fresh.totalMessages, 0);
    assert.equal(fresh.lastMessage, undefined);
  } finally {
    board.close();
  }
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("StatusBoard.read() of a port with no board throws IpcError ENOENT", () => {
  using held = holdPort();
  const port = held.addr.port;
  assert.throws(() => StatusBoard.read(port), { name: "IpcError", code: "ENOENT" });
});

Deno.test("StatusBoard.publish() keeps text within 1 KiB, cut at a character boundary", () => {
  using held = holdPort();
  const port = held.addr.port;
  const board = StatusBoard.create(port);
  try {
    const text = "€".repeat(400); // 3 bytes each: 1200 bytes
    board.publish({
      clients: 3,
      clientsByTransport: { tcp: 2, carrier_pigeon: 1 },
      channels: 2,
      totalMessages: 9,
      messagesPerSecond: 1.5,
      lastMessage: { sender: "ann", target: "#lobby", text, time: 1234 },
    });
    const seen = StatusBoard.read(port);
    assert.equal(seen.lastMessage!.text, "€".repeat(341));
    assert.deepEqual(seen.clientsByTransport, { tcp: 2, tls: 0, websocket: 0, local: 0, other: 1 });
    assert.equal(seen.messagesPerSecond, 1.5);
  } finally {
    board.close();
  }
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("shmooze status --json prints the board a server wrote", async () => {
  using held = holdPort();
  const port = held.addr.port;
  await withWriter("once", port, async (writer) => {
    const result = await status("--port", String(port), "--json");
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout);
    const { lastMessage, ...counters } = statusRecord(7);
    assert.deepEqual(
      { ...counters, clientsByTransport: seen.clientsByTransport, lastMessage: seen.lastMessage },
      {
        ...counters,
        clientsByTransport: { tcp: 0, tls: 0, websocket: 7, local: 7 },
        lastMessage,
      },
    );
    assert.equal(seen.pid, writer.process.pid);
    assert.equal(seen.port, port);
    assert.equal(seen.stale, false);
    assert.ok(seen.uptimeMs >= 0 && seen.updatedAt >= seen.startedAt);
    await writer.closeStdin();
    assert.equal((await writer.done).code, 0);
  });
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("shmooze status shows a readable table, and a stale board with exit code 3", async () => {
  using held = holdPort();
  const port = held.addr.port;
  await withWriter("once", port, async (writer) => {
    const live = await status("--port", String(port));
    assert.equal(live.code, 0, live.stderr);
    assert.match(
      live.stdout,
      new RegExp(`^server +port ${port}, running \\(pid ${writer.process.pid}\\)$`, "m"),
    );
    assert.match(live.stdout, /^clients +7 {2}\(websocket 7, local 7\)$/m);
    assert.match(live.stdout, /^channels +49$/m);
    assert.match(live.stdout, /^msg\/s +1\.8$/m);
    assert.match(live.stdout, /^last message +\d\d:\d\d:\d\d nick7 → #chan2: 7:é{7}$/m);
    writer.process.kill("SIGKILL");
    await writer.done;
    const stale = await status("--port", String(port));
    assert.equal(stale.code, 3, stale.stderr);
    assert.match(stale.stdout, new RegExp(`stale \\(pid ${writer.process.pid} is gone\\)`));
  });
  StatusBoard.create(port).close();
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("shmooze status for a port with no board says so and exits 1", async () => {
  using held = holdPort();
  const port = held.addr.port;
  const result = await status("--port", String(port));
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`No status board for port ${port}: no shmooze server`));
});

Deno.test("shmooze status --watch prints a line per update when piped and stops on SIGINT", async () => {
  using held = holdPort();
  const port = held.addr.port;
  await withWriter("once", port, async (writer) => {
    await using watcher = spawn([
      "main.ts",
      "status",
      "--port",
      String(port),
      "--watch",
      "--interval",
      "50",
    ]);
    const update = new RegExp(`^\\S+Z {2}port ${port} {2}running \\(pid \\d+\\) {2}clients 7`);
    await watcher.waitForLine(update);
    await writer.closeStdin();
    assert.equal((await writer.done).code, 0);
    await watcher.waitForLine(`No status board for port ${port}`);
    watcher.process.kill("SIGINT");
    const result = await watcher.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(watcher.lines.filter((l) => update.test(l)).length >= 1);
  });
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("shmooze status without --port lists every board when there are several", async () => {
  using heldFirst = holdPort();
  using heldSecond = holdPort();
  const [first, second] = [heldFirst.addr.port, heldSecond.addr.port];
  await withWriter("once", first, async (a) => {
    await withWriter("once", second, async (b) => {
      const result = await status();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^\d+ status boards \(choose one with --port\):$/m);
      for (const [port, writer] of [[first, a], [second, b]] as const) {
        assert.match(
          result.stdout,
          new RegExp(`^port ${port} {2}running \\(pid ${writer.process.pid}\\) {2}clients 7 `, "m"),
        );
      }
      const json = JSON.parse((await status("--json")).stdout) as { port: number }[];
      assert.ok([first, second].every((port) => json.some((board) => board.port === port)));
      await b.closeStdin();
      await b.done;
    });
    await a.closeStdin();
    await a.done;
  });
  assertNoLeftovers(boardPrefix(first));
  assertNoLeftovers(boardPrefix(second));
});

Deno.test("serve whose port's status board a live server on another address owns exits 1 in one line naming the flags that help", async () => {
  await using first = await startServe({ status: true });
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-status-test-" });
  try {
    // Same port, another loopback address: the port is free there, its board is not.
    const second = await spawn([
      "main.ts",
      "serve",
      ...["--host", "127.0.0.2", "--port", String(first.port), "--no-http", "--data", dataDir],
    ]).done;
    assert.equal(second.code, 1, second.stderr);
    assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
    assert.ok(
      second.stderr.includes(
        `a running server (pid ${first.child.process.pid}) owns it (EBUSY); stop that server, ` +
          "choose another port with --port, or run without a status board (--no-status)",
      ),
      second.stderr,
    );
    assert.equal(StatusBoard.read(first.port).pid, first.child.process.pid);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("shmooze status on a port whose board is not a board says how to remove it, and that removes it", async () => {
  using held = holdPort();
  const name = boardPrefix(held.addr.port);
  const squat = SharedMemory.create(name, 4096);
  try {
    new Uint32Array(squat.buffer, 0, 1)[0] = 0xdeadbeef;
    const result = await status("--port", String(held.addr.port));
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.ok(
      result.stderr.includes(
        `"${name}": it is not a shmooze status board (magic 0xdeadbeef, expected 0x42535a53) ` +
          `(EBADMAGIC); remove it with \`shmooze ipc clean --force --filter ${name}\``,
      ),
      result.stderr,
    );
    await using clean = spawn(["main.ts", "ipc", "clean", "--force", "--filter", name]);
    const cleaned = await clean.done;
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, /^1 removed, 0 kept$/m);
  } finally {
    squat.close();
    unlinkIfPresent(() => SharedMemory.unlink(name));
  }
  assertNoLeftovers(name);
});
