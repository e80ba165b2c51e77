/**
 * The cluster's bus in shared memory (`ShmBus` on a `LogRing`): one order for every reader
 * across processes, each id once, reading from a sequence, a reader that falls a whole ring
 * behind, bytes that are no event, heartbeats. Every ring is unlinked and checked gone.
 */
import assert from "node:assert/strict";
import { LogRing } from "../src/ipc/log_ring.ts";
import { SharedMemory } from "../src/ipc/shared_memory.ts";
import { ShmBus } from "../src/cluster/shm_bus.ts";
import type { LogEntry } from "../src/cluster/bus.ts";
import type { ClusterEvent, Heartbeat } from "../src/cluster/cluster_event.ts";
import { assertNoLeftovers, spawn, uniqueName, waitUntil } from "./_helpers.ts";
import { ChatHub } from "../src/chat/hub.ts";
import type { ChatEvent } from "../src/chat/chat_event.ts";
import type { Member } from "../src/chat/member.ts";
import { ReplicatedHub } from "../src/cluster/replicated_hub.ts";

function quit(id: string, node = "a"): ClusterEvent {
  return { v: 1, id, node, conn: "1", kind: "quit", reason: id };
}

/** Collects a reader's entries; `until(n)` waits (bounded) for the n-th. */
function collector() {
  const entries: LogEntry[] = [];
  let wake = () => {};
  return {
    entries,
    apply(entry: LogEntry) {
      entries.push(entry);
      wake();
    },
    async until(count: number, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (entries.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`Only ${entries.length} of ${count} entries`);
        const woken = Promise.withResolvers<void>();
        wake = woken.resolve;
        const timer = setTimeout(woken.resolve, left);
        await woken.promise;
        clearTimeout(timer);
      }
    },
  };
}

/** A ring for one test, removed (and checked gone) after `body`. */
async function withRing(
  label: string,
  body: (name: string) => Promise<void>,
  ringBytes?: number,
): Promise<void> {
  const name = uniqueName(label);
  const ring = LogRing.create(name, { ringBytes });
  try {
    await body(name);
  } finally {
    ring.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
}

Deno.test("ShmBus: two processes appending the same 200 ids at once make 200 entries, read in one order by every reader", async () => {
  await withRing("bus-order", async (name) => {
    const one = ShmBus.open(name);
    const two = ShmBus.open(name);
    await using a = spawn(["tests/fixtures/bus_writer.ts", name, "a", "200"]);
    await using b = spawn(["tests/fixtures/bus_writer.ts", name, "b", "200"]);
    try {
      const first = collector();
      const second = collector();
      const readers = [await one.read(1, first.apply), await two.read(1, second.apply)];
      await Promise.all([a.waitForLine("open"), b.waitForLine("open")]);
      await Promise.all([a.writeLine("go"), b.writeLine("go")]);
      await Promise.all([a.waitForLine("sent"), b.waitForLine("sent")]);
      await Promise.all([first.until(200), second.until(200)]);
      assert.equal(await one.head(), 200, "each id once: 200 entries, not 400");
      const ids = (entries: LogEntry[]) => entries.map((entry) => entry.event?.id);
      assert.deepEqual(ids(first.entries), ids(second.entries), "one order for both readers");
      assert.deepEqual(
        first.entries.map((entry) => entry.seq),
        [...Array(200)].map((_, i) => i + 1),
      );
      assert.equal(new Set(ids(first.entries)).size, 200);
      const writers = new Set(first.entries.map((entry) => entry.event?.node));
      assert.ok(writers.size >= 1);
      for (const reader of readers) await reader.stop();
    } finally {
      await Promise.all([a.closeStdin(), b.closeStdin()]);
      await Promise.all([a.done, b.done]);
      await Promise.all([one.close(), two.close()]);
    }
  });
});

Deno.test("ShmBus: a reader from sequence 151 gets 151 on, then what comes later", async () => {
  await withRing("bus-from", async (name) => {
    const bus = ShmBus.open(name);
    try {
      for (let i = 1; i <= 200; i++) await bus.append(quit(`q${i}`));
      const seen = collector();
      const reader = await bus.read(151, seen.apply);
      await seen.until(50);
      await bus.append(quit("q201"));
      await seen.until(51);
      assert.deepEqual(
        seen.entries.map((entry) => entry.seq),
        [...Array(51)].map((_, i) => 151 + i),
      );
      assert.equal(seen.entries[0].event?.id, "q151");
      assert.equal(seen.entries[50].event?.id, "q201");
      await reader.stop();
    } finally {
      await bus.close();
    }
  });
});

Deno.test("ShmBus on a ring that goes on after a snapshot: entries start at its first sequence, first() says so, and a second handle dedupes with the right sequences", async () => {
  const name = uniqueName("bus-first");
  const ring = LogRing.create(name, { firstSeq: 41 });
  const a = ShmBus.open(name);
  const b = ShmBus.open(name);
  try {
    assert.equal(await a.first(), 41, "nothing held yet: the head + 1");
    assert.equal(await a.head(), 40);
    assert.equal(await a.append(quit("q1")), 41);
    assert.equal(await a.append(quit("q2")), 42);
    assert.equal(await b.append(quit("q1")), 41, "the same id: the first entry's sequence");
    assert.equal(await b.append(quit("q3")), 43);
    assert.equal(await b.first(), 41);
    await assert.rejects(
      a.read(40, () => {}),
      /entry 40 was overwritten: the ring holds entries 41 to 43/,
    );
    const seen = collector();
    const reader = await b.read(41, seen.apply);
    await seen.until(3);
    assert.deepEqual(seen.entries.map((entry) => [entry.seq, entry.event?.id]), [
      [41, "q1"],
      [42, "q2"],
      [43, "q3"],
    ]);
    await reader.stop();
    assert.throws(() => LogRing.create(uniqueName("bus-first"), { firstSeq: 0 }), /first sequence/);
  } finally {
    await Promise.all([a.close(), b.close()]);
    ring.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("ShmBus: a reader that falls a whole ring behind stops at the gap and is told; a start before the ring's tail is refused", async () => {
  await withRing("bus-lapped", async (name) => {
    const lapped = Promise.withResolvers<Error>();
    const slow = ShmBus.open(name, { onLost: lapped.resolve });
    const writer = ShmBus.open(name);
    try {
      const seen = collector();
      const reader = await slow.read(1, seen.apply);
      for (let i = 1; i <= 10; i++) await writer.append(quit(`q${i}`));
      await seen.until(10);
      // Appended in one synchronous run: the slow reader gets no turn until the ring has gone
      // round three times past it.
      const text = "x".repeat(400);
      for (let i = 11; i <= 600; i++) {
        void writer.append({ ...quit(`q${i}`), reason: text } as ClusterEvent);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const error = await Promise.race([
        lapped.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("the reader was not told")), 5000);
        }),
      ]);
      clearTimeout(timer);
      assert.match(error.message, /fell a whole ring behind the log at entry 11/);
      assert.deepEqual(
        seen.entries.map((entry) => entry.seq),
        [...Array(10)].map((_, i) => i + 1),
        "nothing after the gap was applied",
      );
      await reader.stop();
      await assert.rejects(
        writer.read(1, () => {}),
        /Cannot read the log from entry 1: .*entry 1 was overwritten: the ring holds entries \d+ to 600 only/,
      );
    } finally {
      await Promise.all([slow.close(), writer.close()]);
    }
  }, 64 * 1024);
});

Deno.test("ShmBus: bytes in the ring that are no event are handed over as errors in their place", async () => {
  await withRing("bus-bad", async (name) => {
    const bus = ShmBus.open(name);
    const raw = LogRing.open(name);
    try {
      await bus.append(quit("good-1"));
      raw.append("bad", new Uint8Array([0xff, 0xfe, 0x0d, 0x0a]));
      raw.append("bad-version", new TextEncoder().encode(JSON.stringify({ ...quit("x"), v: 9 })));
      await bus.append(quit("good-2"));
      const seen = collector();
      const reader = await bus.read(1, seen.apply);
      await seen.until(4);
      assert.deepEqual(seen.entries.map((entry) => entry.event?.id ?? "error"), [
        "good-1",
        "error",
        "error",
        "good-2",
      ]);
      assert.ok(seen.entries[1].error instanceof TypeError);
      await reader.stop();
    } finally {
      raw.close();
      await bus.close();
    }
  });
});

Deno.test("ShmBus: a record whose length another program overwrote stops the reader, which is told, instead of reading out of bounds", async () => {
  await withRing("bus-corrupt", async (name) => {
    const lost = Promise.withResolvers<Error>();
    const bus = ShmBus.open(name, { onLost: lost.resolve });
    const shm = SharedMemory.open(name);
    try {
      await bus.append(quit("first"));
      await bus.append(quit("second"));
      // The ring starts after the 256-byte header and 64 heartbeat slots of 256 bytes; the first
      // record is 16-byte aligned, so the second one's length word is found from the first's.
      const view = new DataView(shm.buffer);
      const ringStart = 256 + 64 * 256;
      const second = ringStart + view.getInt32(ringStart + 4, true);
      view.setInt32(second + 4, 0x7fff_fff0, true);
      const seen = collector();
      const reader = await bus.read(1, seen.apply);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const error = await Promise.race([
        lost.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("the reader was not told")), 5000);
        }),
      ]);
      clearTimeout(timer);
      assert.match(error.message, /stopped reading the log at entry 2/);
      assert.match(String((error.cause as Error).message), /is not sound/);
      assert.deepEqual(seen.entries.map((entry) => entry.event?.id), ["first"]);
      await reader.stop();
    } finally {
      shm.close();
      await bus.close();
    }
  });
});

Deno.test("ShmBus: heartbeats of one handle reach the others, and a node hears its own", async () => {
  await withRing("bus-beat", async (name) => {
    const a = ShmBus.open(name);
    const b = ShmBus.open(name);
    try {
      const heardByB = Promise.withResolvers<Heartbeat>();
      const heardByA = Promise.withResolvers<Heartbeat>();
      b.onBeat((beat) => beat.node === "a" && heardByB.resolve(beat));
      a.onBeat((beat) => beat.node === "a" && heardByA.resolve(beat));
      a.beat({ v: 1, node: "a", applied: 7, clients: 2 });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const beats = await Promise.race([
        Promise.all([heardByB.promise, heardByA.promise]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no heartbeat within 2 s")), 2000);
        }),
      ]);
      clearTimeout(timer);
      assert.deepEqual(beats[0], { v: 1, node: "a", applied: 7, clients: 2 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

Deno.test("LogRing refuses a size out of range and an entry larger than a quarter of the ring", () => {
  const name = uniqueName("ring-limits");
  assert.throws(() => LogRing.create(name, { ringBytes: 1000 }), /must be a multiple of 16 bytes/);
  const ring = LogRing.create(name, { ringBytes: 64 * 1024 });
  try {
    assert.throws(
      () => ring.append("big", new Uint8Array(20_000)),
      (error: Error & { code?: string }) => error.code === "EMSGSIZE",
    );
    assert.equal(ring.lastSeq, 0);
  } finally {
    ring.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
});

/** A user of a node that keeps what it is handed. */
function user(nick: string): Member & { events: ChatEvent[] } {
  const events: ChatEvent[] = [];
  return {
    nick,
    user: nick,
    host: "test",
    realname: nick,
    transport: "test",
    channels: new Set<string>(),
    echo: true,
    events,
    deliver: (event: ChatEvent) => void events.push(event),
    disconnect: () => {},
  };
}

Deno.test("ReplicatedHub on ShmBus: three nodes share a message with one msgid, and a node gone silent has its users quit within 5 s", async () => {
  await withRing("bus-hub", async (name) => {
    const buses = [0, 1, 2].map(() => ShmBus.open(name));
    const nodes = buses.map((bus, i) =>
      new ReplicatedHub(new ChatHub(), bus, { node: `n${i}`, beatMs: 250, silenceMs: 1500 })
    );
    try {
      for (const node of nodes) await node.start();
      const users = ["ann", "bob", "cat"].map(user);
      for (const [i, member] of users.entries()) {
        assert.equal(await nodes[i].connect(member), true);
        assert.ok(await nodes[i].join(member, "#lobby") !== undefined);
      }
      const [ann, bob, cat] = users;
      const has = (member: typeof ann, match: (event: ChatEvent) => boolean) => () =>
        member.events.some(match);
      await waitUntil(
        has(ann, (e) => e.kind === "join" && e.source.startsWith("cat!")),
        5000,
        "cat's join on A",
      );
      const sent = await nodes[2].send(cat, "privmsg", "#lobby", "hello from C");
      assert.equal(typeof sent, "object");
      const hello = (e: ChatEvent) => e.kind === "privmsg" && e.text === "hello from C";
      await waitUntil(has(ann, hello), 5000, "the message on A");
      await waitUntil(has(bob, hello), 5000, "the message on B");
      const msgids = users.map((member) => member.events.find(hello)?.msgid);
      assert.ok(msgids[0]?.startsWith("n2-"));
      assert.equal(new Set(msgids).size, 1, "one msgid on every node");
      // B's bus goes with no goodbye: a crash, as far as the others can tell.
      await buses[1].close();
      const started = Date.now();
      const quit = (e: ChatEvent) => e.kind === "quit" && e.source.startsWith("bob!");
      await waitUntil(has(ann, quit), 5000, "bob's quit on A");
      await waitUntil(has(cat, quit), 5000, "bob's quit on C");
      assert.ok(Date.now() - started < 5000);
      assert.match(ann.events.find(quit)!.text, /stopped responding/);
      assert.equal(await nodes[0].changeNick(ann, "bob"), true, "bob's nick is free again");
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });
});

Deno.test("LogRing: a reader crosses the 16-byte padding record that ends the ring", () => {
  const name = uniqueName("ring-pad");
  const ring = LogRing.create(name, { ringBytes: 64 * 1024 });
  try {
    // Records of 32 header bytes, a 4-byte id and the payload, 16-byte aligned: one of 1008
    // bytes and 63 of 1024 leave exactly 16 bytes before the end, which the next one pads.
    const id = (i: number) => `e${String(i).padStart(3, "0")}`;
    ring.append(id(0), new Uint8Array(1008 - 36));
    for (let i = 1; i < 64; i++) ring.append(id(i), new Uint8Array(1024 - 36));
    const cursor = ring.cursor(1);
    const seen: number[] = [];
    assert.deepEqual(ring.read(cursor, (seq) => seen.push(seq)), { count: 64, lapped: false });
    ring.append(id(64), new Uint8Array([1, 2, 3]));
    const last: Uint8Array[] = [];
    assert.deepEqual(ring.read(cursor, (_, payload) => last.push(payload)), {
      count: 1,
      lapped: false,
    });
    assert.deepEqual(last, [new Uint8Array([1, 2, 3])]);
    assert.equal(ring.tailSeq, 2, "the first record made room for the 65th");
  } finally {
    ring.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("LogRing: entries of random sizes read back whole, in order, over many laps of the ring", () => {
  const name = uniqueName("ring-laps");
  const ring = LogRing.create(name, { ringBytes: 64 * 1024 });
  try {
    // A seeded generator: a failure shows the same sizes again.
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const cursor = ring.cursor(1);
    let expected = 1;
    for (let i = 1; i <= 3000; i++) {
      const payload = new Uint8Array(Math.floor(random() * 4000));
      payload.fill(i % 251);
      assert.equal(ring.append(`id-${i}`, payload), i);
      if (random() < 0.3) continue; // the reader sometimes lets a few pile up
      const read = ring.read(cursor, (seq, bytes) => {
        assert.equal(seq, expected++);
        assert.ok(bytes.every((byte) => byte === seq % 251), `entry ${seq} is whole`);
      });
      assert.equal(read.lapped, false);
    }
    ring.read(cursor, (seq) => assert.equal(seq, expected++));
    assert.equal(expected, 3001);
    assert.equal(ring.append("id-3000", new Uint8Array(1)), 3000, "an id still in the ring");
  } finally {
    ring.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("LogRing: a handle that reads indexes ids as it goes, so its first append over a full ring holds the lock briefly and still dedupes", () => {
  const name = uniqueName("ring-index");
  const writer = LogRing.create(name);
  const reader = LogRing.open(name);
  try {
    const payload = new Uint8Array(180);
    const cursor = reader.cursor(1);
    for (let i = 1; i <= 100_000; i++) {
      writer.append(`w-${i}`, payload);
      if (i % 1000 === 0) reader.read(cursor, () => {});
    }
    assert.ok(reader.tailSeq > 1, "the 16 MiB ring went round");
    // Indexing the whole ring under the lock took 0.1 to 0.4 s here, stalling every writer.
    const started = performance.now();
    assert.equal(reader.append("w-100000", payload), 100_000, "an id it read is one entry");
    const took = performance.now() - started;
    assert.ok(took < 50, `the append took ${took.toFixed(1)} ms`);
  } finally {
    reader.close();
    writer.close();
    LogRing.unlink(name);
  }
  assertNoLeftovers(name);
});
