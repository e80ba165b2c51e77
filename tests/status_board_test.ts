import assert from "node:assert/strict";
import { IpcError, objectName, StatusBoard, type StatusSnapshot } from "../mod.ts";
import { statusRecord } from "./fixtures/status_writer.ts";
import { assertNoLeftovers, spawn } from "./_helpers.ts";

/**
 * A port for one test's board. Outside Linux's ephemeral range (32768–60999), so no server
 * started with port 0 by a parallel test can be given it, and different per test process.
 */
function testPort(offset: number): number {
  return 20000 + ((Deno.pid * 8 + offset) % 12000);
}

function boardPrefix(port: number): string {
  return objectName("status", String(port));
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
  const port = testPort(1);
  {
    await using writer = spawn(["tests/fixtures/status_writer.ts", "loop", String(port)]);
    await writer.waitForLine("ready");
    const seen = new Set<number>();
    let reads = 0;
    // Thousands of reads, and until the writer has visibly moved on many times.
    while (reads < 5_000 || seen.size < 100) {
      const snapshot = StatusBoard.read(port);
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
  }
  assertNoLeftovers(boardPrefix(port));
});

Deno.test("StatusBoard: a board whose server was SIGKILLed is stale, and create() reclaims it", async () => {
  const port = testPort(2);
  {
    await using writer = spawn(["tests/fixtures/status_writer.ts", "once", String(port)]);
    await writer.waitForLine("ready");
    const live = StatusBoard.read(port);
    assert.equal(live.stale, false);
    assert.equal(live.pid, writer.process.pid);
    assert.throws(() => StatusBoard.create(port), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "EBUSY");
      assert.match(error.message, new RegExp(`a running server \\(pid ${writer.process.pid}\\)`));
      return true;
    });
    writer.process.kill("SIGKILL");
    await writer.done;
    const dead = StatusBoard.read(port);
    assert.equal(dead.stale, true);
    assert.equal(dead.totalMessages, 7);
    assert.equal(dead.uptimeMs, dead.updatedAt - dead.startedAt);
    assert.ok(StatusBoard.list().some((s) => s.port === port && s.stale));
  }
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
  const port = testPort(3);
  assert.throws(() => StatusBoard.read(port), { name: "IpcError", code: "ENOENT" });
});

Deno.test("StatusBoard.publish() keeps text within 1 KiB, cut at a character boundary", () => {
  const port = testPort(4);
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
