import assert from "node:assert/strict";
import { IpcError, objectName, SharedMemory } from "../src/ipc/mod.ts";
import { Room, type RoomEvent } from "../src/ipc/room.ts";
import { H } from "../src/ipc/_room_layout.ts";
import { futex } from "../ffi/libc.ts";
import { platform } from "../src/ipc/platform.ts";
import { assertNoLeftovers, spawn, uniqueName, waitUntil } from "./_helpers.ts";
import { Inspector } from "./_inspector.ts";

/** A room label unique to this test, and its segment's name (the leftovers prefix). */
function testRoom(label: string): { room: string; segment: string } {
  const room = uniqueName(label);
  return { room, segment: objectName("room", room) };
}

/** Reads events until `count` of the wanted kinds arrived, failing after `timeoutMs`. */
async function collect(
  member: Room,
  count: number,
  kinds: RoomEvent["kind"][] = ["message", "missed"],
  timeoutMs = 10_000,
): Promise<RoomEvent[]> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const seen: RoomEvent[] = [];
  for await (const event of member.events(stop.signal)) {
    if (!kinds.includes(event.kind)) continue;
    seen.push(event);
    if (seen.length === count) break;
  }
  clearTimeout(timer);
  assert.equal(seen.length, count, `only ${seen.length} of ${count} events within ${timeoutMs} ms`);
  return seen;
}

Deno.test("Room delivers messages in order to others, private ones only to their recipient", async () => {
  const { room, segment } = testRoom("order");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  const carl = Room.join(room, "carl");
  try {
    ann.send("one");
    ann.send("for bob", "bob");
    ann.send("two");
    const toBob = await collect(bob, 3);
    assert.deepEqual(toBob.map((e) => [e.text, e.to, e.from.name, e.packet]), [
      ["one", 0, "ann", 1],
      ["for bob", bob.id, "ann", 2],
      ["two", 0, "ann", 3],
    ]);
    const toCarl = await collect(carl, 2);
    assert.deepEqual(toCarl.map((e) => e.text), ["one", "two"]);
    assert.deepEqual(carl.participants().map((p) => p.name), ["ann", "bob", "carl"]);
  } finally {
    carl.leave();
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("Room announces joins and leaves, and the last one out removes the segment", async () => {
  const { room, segment } = testRoom("joinleave");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  bob.leave();
  const events = await collect(ann, 2, ["join", "leave"]);
  assert.deepEqual(events.map((e) => `${e.kind} ${e.from.name}`), ["join bob", "leave bob"]);
  assert.equal(leftoverCount(segment), 1);
  ann.leave();
  assertNoLeftovers(segment);
});

function leftoverCount(segment: string): number {
  return [...Deno.readDirSync("/dev/shm")].filter((e) => e.name === segment).length;
}

Deno.test("Room.join() refuses the 65th participant with a clear error", () => {
  const { room, segment } = testRoom("full");
  const members: Room[] = [];
  try {
    for (let i = 0; i < 64; i++) members.push(Room.join(room, `p${i}`));
    assert.throws(() => Room.join(room, "p64"), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "ENOSPC");
      assert.match(error.message, /room ".*" as "p64": the room is full: it holds at most 64/);
      return true;
    });
  } finally {
    for (const member of members) member.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("Room.join() refuses a name already in the room, and a malformed name", () => {
  const { room, segment } = testRoom("dup");
  const ann = Room.join(room, "ann");
  try {
    assert.throws(() => Room.join(room, "ann"), /the name is taken by process \d+.*\(EEXIST\)/);
    assert.throws(() => Room.join(room, "has space"), /a name is 1 to 32 bytes/);
    assert.throws(() => Room.join(room, "x".repeat(33)), /a name is 1 to 32 bytes/);
  } finally {
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("Room.send() takes 1024 bytes and rejects more with the size in the message", async () => {
  const { room, segment } = testRoom("size");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    const fits = "é".repeat(512);
    ann.send(fits);
    assert.throws(
      () => ann.send(`${fits}!`),
      /the message is 1025 bytes; .* at most 1024 \(EMSGSIZE\)/,
    );
    assert.throws(() => ann.send("hi", "nobody"), /nobody called nobody is in the room/);
    const [event] = await collect(bob, 1);
    assert.equal(event.text, fits);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("a slow reader is lapped by the ring and told how many it missed", async () => {
  const { room, segment } = testRoom("lapped");
  const ann = Room.join(room, "ann", { capacity: 8 });
  const bob = Room.join(room, "bob");
  try {
    for (let i = 0; i < 20; i++) ann.send(`m${i}`);
    // 20 messages in 8 slots: the 12 oldest are gone before bob reads.
    const events = await collect(bob, 9);
    assert.equal(events[0].kind, "missed");
    assert.equal(events[0].missed, 12);
    assert.deepEqual(
      events.slice(1).map((e) => e.text),
      [12, 13, 14, 15, 16, 17, 18, 19].map((i) => `m${i}`),
    );
    assert.deepEqual(bob.stats(), { capacity: 8, used: 8, writeSeq: 22 });
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("sequence numbers stay exact past 2^32 while a reader sleeps on the futex word", async () => {
  const { room, segment } = testRoom("wrap");
  const ann = Room.join(room, "ann");
  {
    using shm = SharedMemory.open(segment);
    new Float64Array(shm.buffer, 0, 8)[H.F_WRITE_SEQ] = 2 ** 32 - 3;
  }
  const bob = Room.join(room, "bob");
  try {
    const reading = collect(bob, 5);
    setTimeout(() => {
      for (let i = 0; i < 5; i++) ann.send(`w${i}`);
    }, 20);
    const events = await reading;
    assert.deepEqual(events.map((e) => e.seq), [0, 1, 2, 3, 4].map((i) => 2 ** 32 - 1 + i));
    assert.deepEqual(events.map((e) => e.text), ["w0", "w1", "w2", "w3", "w4"]);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("writers in three processes contend for the lock and no message is lost or torn", async () => {
  const { room, segment } = testRoom("contend");
  const perWriter = 3000;
  const reader = Room.join(room, "reader", { capacity: 16384 });
  const writers = ["w1", "w2", "w3"].map((name) =>
    spawn(["tests/fixtures/room_writer.ts", room, name, String(perWriter)], { timeoutMs: 60_000 })
  );
  try {
    await Promise.all(writers.map((w) => w.waitForLine("joined", 20_000)));
    await Promise.all(writers.map((w) => w.writeLine("go")));
    const events = await collect(reader, 3 * perWriter, ["message", "missed"], 30_000);
    assert.equal(events.filter((e) => e.kind === "missed").length, 0);
    const next: Record<string, number> = { w1: 0, w2: 0, w3: 0 };
    const seqs = new Set<number>();
    for (const event of events) {
      assert.equal(event.text, `${event.from.name} ${next[event.from.name]}`);
      next[event.from.name]++;
      seqs.add(event.seq);
    }
    assert.equal(seqs.size, 3 * perWriter);
    await Promise.all(writers.map((w) => w.waitForLine("sent", 20_000)));
  } finally {
    for (const writer of writers) {
      await writer.closeStdin();
      await writer.done;
      await writer[Symbol.asyncDispose]();
    }
    reader.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("the segment lock excludes three processes from each other: no increment is lost", async () => {
  const name = uniqueName("count");
  const perProcess = 100_000;
  using shm = SharedMemory.create(name, 64);
  const children = [1, 2, 3].map(() =>
    spawn(["tests/fixtures/room_lock_counter.ts", name, String(perProcess)], { timeoutMs: 60_000 })
  );
  try {
    await Promise.all(children.map((c) => c.waitForLine("ready", 20_000)));
    Atomics.store(new Int32Array(shm.buffer, 0, 4), 2, 1);
    await Promise.all(children.map((c) => c.waitForLine("done", 50_000)));
    assert.equal(new Float64Array(shm.buffer, 0, 3)[2], 3 * perProcess);
  } finally {
    for (const child of children) await child[Symbol.asyncDispose]();
    SharedMemory.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("a reader stops at once when its signal aborts while it sleeps", async () => {
  const { room, segment } = testRoom("abort");
  const ann = Room.join(room, "ann");
  try {
    const stop = new AbortController();
    const reading = (async () => {
      for await (const _ of ann.events(stop.signal)) { /* nothing comes */ }
    })();
    setTimeout(() => stop.abort(), 50);
    const started = performance.now();
    await reading;
    assert.ok(performance.now() - started < 500, "the reader kept sleeping after abort");
  } finally {
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("a dead lock owner is recovered and its half-written slot never shows", async () => {
  const { room, segment } = testRoom("recover");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    for (const mode of ["half", "unpublished", "idle"]) {
      await using holder = spawn(["tests/fixtures/room_lock_holder.ts", room, `h${mode}`, mode]);
      await holder.waitForLine("locked", 20_000);
      holder.process.kill("SIGKILL");
      await holder.done;
      const started = performance.now();
      ann.send(`after ${mode}`);
      assert.ok(performance.now() - started < 1000, "send waited more than 1 s");
      const [event] = await collect(bob, 1);
      assert.equal(event.text, `after ${mode}`);
    }
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("poll() returns every event available at once, in order, then nothing", () => {
  const { room, segment } = testRoom("poll");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    assert.deepEqual(bob.poll(), []);
    ann.send("one");
    ann.send("for bob", "bob");
    ann.send("two");
    const carl = Room.join(room, "carl");
    carl.leave();
    const events = bob.poll();
    assert.deepEqual(events.map((e) => [e.kind, e.text, e.from.name, e.to, e.packet]), [
      ["message", "one", "ann", 0, 1],
      ["message", "for bob", "ann", bob.id, 2],
      ["message", "two", "ann", 0, 3],
      ["join", "", "carl", 0, 0],
      ["leave", "", "carl", 0, 0],
    ]);
    assert.deepEqual(events.map((e) => e.seq), [3, 4, 5, 6, 7]);
    assert.deepEqual(bob.poll(), []);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("drain() and poll() skip the reader's own messages and private ones to others", () => {
  const { room, segment } = testRoom("private");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  const carl = Room.join(room, "carl");
  try {
    ann.sendBatch(["to carl", "to carl too"], { to: "carl" });
    ann.sendBatch(["to all"]);
    bob.send("from bob");
    ann.sendBatch([new TextEncoder().encode("to bob")], { to: bob.id });
    const bobSaw: string[] = [];
    const handed = bob.drain((view) => {
      bobSaw.push(`${view.kind} ${view.fromName}#${view.fromId} ${view.text} ${view.length}`);
    });
    assert.deepEqual(bobSaw, [
      "join carl#3  0",
      "message ann#1 to all 6",
      "message ann#1 to bob 6",
    ]);
    assert.equal(handed, 3);
    assert.deepEqual(carl.poll().map((e) => e.text), [
      "to carl",
      "to carl too",
      "to all",
      "from bob",
    ]);
    assert.deepEqual(ann.poll().map((e) => e.text), ["", "", "from bob"]);
  } finally {
    carl.leave();
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("a lapped reader's batch starts with one missed event and max bounds every batch", () => {
  const { room, segment } = testRoom("batchmiss");
  const ann = Room.join(room, "ann", { capacity: 8 });
  const bob = Room.join(room, "bob");
  try {
    ann.sendBatch(Array.from({ length: 20 }, (_, i) => `m${i}`));
    const first = bob.poll(3);
    assert.deepEqual(first.map((e) => [e.kind, e.seq, e.missed, e.text]), [
      ["missed", 3, 12, ""],
      ["message", 15, undefined, "m12"],
      ["message", 16, undefined, "m13"],
    ]);
    const texts: string[] = [];
    assert.equal(bob.drain((view) => texts.push(view.text), 4), 4);
    assert.deepEqual(texts, ["m14", "m15", "m16", "m17"]);
    assert.deepEqual(bob.poll().map((e) => e.text), ["m18", "m19"]);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("events() keeps what a loop that broke early left behind for the next read", async () => {
  const { room, segment } = testRoom("leftbehind");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    ann.sendBatch(["a", "b", "c", "d"]);
    const [first] = await collect(bob, 1);
    assert.equal(first.text, "a");
    assert.deepEqual(bob.poll(1).map((e) => e.text), ["b"]);
    const texts: string[] = [];
    bob.drain((view) => texts.push(view.text));
    assert.deepEqual(texts, ["c", "d"]);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("waitForEvents() sleeps until a writer publishes, and returns at once on abort", async () => {
  const { room, segment } = testRoom("wait");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    const started = performance.now();
    await bob.waitForEvents(stop.signal);
    // A reader sleeps in 1 s futex slices: a wait that ends sooner than one slice after it
    // began was ended by the abort's wake, however slowly a loaded machine delivered it.
    assert.ok(performance.now() - started < 1000, "the wait outlived its abort");
    setTimeout(() => ann.send("wake"), 20);
    const deadline = performance.now() + 5000;
    let texts: string[] = [];
    while (texts.length === 0 && performance.now() < deadline) {
      await bob.waitForEvents();
      texts = bob.poll().map((e) => e.text);
    }
    assert.deepEqual(texts, ["wake"]);
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("sendBatch() refuses an oversized message or a bad waitMs before sending any", () => {
  const { room, segment } = testRoom("batchsize");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  try {
    assert.throws(
      () => ann.sendBatch(["fits", "x".repeat(1025)]),
      /the message is 1025 bytes; .* at most 1024 \(EMSGSIZE\)/,
    );
    assert.throws(
      () => ann.sendBatch(["fits", new Uint8Array(2000)]),
      /the message is 2000 bytes/,
    );
    assert.throws(() => ann.sendBatch(["fits"], { waitMs: -1 }), /waitMs must be .* not -1/);
    assert.throws(() => ann.sendBatch(["fits"], { to: "nobody" }), /nobody called nobody/);
    assert.deepEqual(bob.poll(), []);
    ann.sendBatch(["é".repeat(512)]);
    assert.equal(bob.poll()[0].text, "é".repeat(512));
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("sendBatch() with waitMs holds back for a slow reader in another process: nothing is lost", async () => {
  const { room, segment } = testRoom("backpressure");
  const ann = Room.join(room, "ann", { capacity: 16 });
  await using reader = spawn(["tests/fixtures/room_slow_reader.ts", room, "slow"]);
  try {
    await reader.waitForLine("joined", 20_000);
    const messages = Array.from({ length: 300 }, (_, i) => String(i));
    ann.sendBatch([...messages, "end"], { waitMs: 10_000 });
    await reader.waitForLine("received 300 missed 0 order ok", 20_000);
    assert.equal((await reader.done).code, 0);
  } finally {
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("sendBatch() without waitMs laps a slow reader, which counts each message as received or missed", async () => {
  const { room, segment } = testRoom("firehose");
  const ann = Room.join(room, "ann", { capacity: 16 });
  await using reader = spawn(["tests/fixtures/room_slow_reader.ts", room, "slow"]);
  try {
    await reader.waitForLine("joined", 20_000);
    // 3000 in a ring of 16 at 8 per millisecond: only a writer stalled for ~0.4 s in all
    // would not lap this reader.
    ann.sendBatch([...Array.from({ length: 3000 }, (_, i) => String(i)), "end"]);
    const line = await reader.waitForLine(/^received \d+ missed \d+ order ok$/, 20_000);
    const [received, missed] = line.match(/\d+/g)!.map(Number);
    assert.ok(missed > 0, line);
    assert.equal(received + missed, 3000, line);
    // It leaves after printing: the last one out removes the room, so wait for it.
    assert.equal((await reader.done).code, 0);
  } finally {
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("a writer that waits gives up after waitMs and laps a reader that stopped reading", () => {
  const { room, segment } = testRoom("giveup");
  const ann = Room.join(room, "ann", { capacity: 8 });
  const bob = Room.join(room, "bob");
  try {
    assert.deepEqual(bob.poll(), []);
    const started = performance.now();
    ann.sendBatch(Array.from({ length: 20 }, (_, i) => `m${i}`), { waitMs: 50 });
    const waited = performance.now() - started;
    assert.ok(waited >= 50 && waited < 2000, `waited ${waited} ms`);
    const events = bob.poll(100);
    assert.equal(events[0].kind, "missed");
    assert.equal(events[0].missed, 12);
    assert.deepEqual(
      events.slice(1).map((e) => e.text),
      [12, 13, 14, 15, 16, 17, 18, 19].map((i) => `m${i}`),
    );
  } finally {
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

Deno.test("one write wakes every sleeping reader, and wakes them again once they sleep again", async () => {
  const { room, segment } = testRoom("wakeall");
  const ann = Room.join(room, "ann");
  const bob = Room.join(room, "bob");
  const carl = Room.join(room, "carl");
  const shm = SharedMemory.open(segment);
  const header = new Int32Array(shm.buffer, 0, 16);
  try {
    bob.poll();
    for (const text of ["first", "second"]) {
      const woken = [bob, carl].map(async (member) => {
        await member.waitForEvents();
        return { at: performance.now(), texts: member.poll().map((e) => e.text) };
      });
      await waitUntil(() => Atomics.load(header, H.I_WAITERS) === 2, 5000, "both readers asleep");
      const sent = performance.now();
      ann.send(text);
      for (const { at, texts } of await Promise.all(woken)) {
        assert.deepEqual(texts, [text]);
        // A missed wake would only end with the reader's 1 s time slice.
        assert.ok(at - sent < 500, `woken ${at - sent} ms after the write`);
      }
    }
  } finally {
    shm.close();
    carl.leave();
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(segment);
});

/** Whether a thread of process `pid` is blocked in a shared FUTEX_WAIT expecting `value`. */
function inFutexWait(pid: number, value: number): boolean {
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let call: string[];
    try {
      call = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/syscall`).trim().split(" ");
    } catch {
      continue; // the thread ended
    }
    // "number uaddr op val …"; op 0 is FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the runtime's
    // own threads wait on private futexes, so this is the room's word.
    if (
      call[0] === String(futex.SYS_futex) && BigInt(call[2]) === 0n &&
      BigInt(call[3]) === BigInt(value >>> 0)
    ) {
      return true;
    }
  }
  return false;
}

Deno.test({
  name:
    "a writer held up between publishing and waking does not cost the next wake-up to a reader that fell asleep on its message",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // The scheduler makes this interleaving now and then (a preempted writer); the debugger
    // makes it every time: the writer stops after publishing "one", the reader reads "one" and
    // stops just before its last look at the futex word, the writer finishes, the reader goes
    // to sleep on the word as "one" left it. "two" must wake it.
    const { room, segment } = testRoom("latewake");
    const member = (name: string, mode: string) =>
      spawn(["--inspect=127.0.0.1:0", "tests/fixtures/room_member.ts", room, name, mode]);
    await using reader = member("reader", "read");
    await reader.waitForLine("joined");
    await using writer = member("writer", "write");
    await writer.waitForLine("joined");
    const shm = SharedMemory.open(segment);
    const header = new Int32Array(shm.buffer, 0, 16);
    const readerDebug = await Inspector.attach(reader);
    const writerDebug = await Inspector.attach(writer);
    try {
      const beforeWake = await writerDebug.breakAt(
        "src/ipc/_room_wait.ts",
        /function wakeIfWaiting\(/,
        1,
      );
      await writer.writeLine("one");
      await writerDebug.paused();
      const published = Atomics.load(header, H.I_SEQ_WORD);
      const lastLook = await readerDebug.breakAt(
        "src/ipc/_room_wait.ts",
        /=== seen && !signal\?\.aborted/,
      );
      // The reader may be asleep since before "one", whose wake is held up: a spurious wake (as
      // a signal or a time slice's end gives) gets it to read "one".
      platform().wakeAddress!(Deno.UnsafePointer.offset(shm.pointer, H.I_SEQ_WORD * 4)!, 1 << 30);
      let pause = await readerDebug.paused();
      while (await readerDebug.evaluate(pause, "seen") !== published) {
        await readerDebug.resume();
        pause = await readerDebug.paused();
      }
      await writerDebug.clear(beforeWake);
      await writerDebug.resume();
      await writer.waitForLine("sent one");
      await readerDebug.clear(lastLook);
      await readerDebug.resume();
      await waitUntil(() => inFutexWait(reader.process.pid, published), 5000, "the reader asleep");
      const sent = performance.now();
      await writer.writeLine("two");
      await reader.waitForLine("got two", 5000);
      const delay = performance.now() - sent;
      // A lost wake-up ends only with the reader's 1 s time slice.
      assert.ok(
        delay < 250,
        `"two" reached the sleeping reader ${delay.toFixed(0)} ms after it was sent`,
      );
    } finally {
      // Detached, a stopped child goes on; at the end of its input it leaves the room.
      await readerDebug.close();
      await writerDebug.close();
      shm.close();
      await writer.closeStdin();
      await reader.closeStdin();
      await Promise.all([writer.done, reader.done]);
    }
    assert.equal((await writer.done).code, 0);
    assert.equal((await reader.done).code, 0);
    assertNoLeftovers(segment);
  },
});
