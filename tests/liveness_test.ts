import assert from "node:assert/strict";
import { objectName, SharedMemory, StatusBoard } from "../src/ipc/mod.ts";
import { Room, type RoomEvent } from "../src/ipc/room.ts";
import { entryWord, H, P } from "../src/ipc/_room_layout.ts";
import { assertNoLeftovers, ROOT, spawn, uniqueName, waitUntil } from "./_helpers.ts";

/** A room label unique to this test, and its segment's name (the leftovers prefix). */
function testRoom(label: string): { room: string; segment: string } {
  const room = uniqueName(label);
  return { room, segment: objectName("room", room) };
}

/** Process state letter from /proc/PID/stat (R, S, Z …), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return line.slice(line.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** The first message `member` receives, within `timeoutMs`. */
async function nextMessage(member: Room, timeoutMs = 10_000): Promise<RoomEvent> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const event of member.events(signal)) {
    if (event.kind === "message") return event;
  }
  throw new Error(`No message within ${timeoutMs} ms`);
}

/** Lines of a stream as they come, for a child that is not a `deno run` (see `spawn`). */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    yield* lines;
  }
}

Deno.test({
  name:
    "a participant killed holding the lock but not yet reaped (a zombie) holds nobody up: send goes through at once",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { room, segment } = testRoom("zombie");
    const ann = Room.join(room, "ann");
    const bob = Room.join(room, "bob");
    // sh starts the holder in the background, then becomes cat, which never calls wait():
    // once killed, the holder stays a zombie until cat ends (when we close its input) and
    // init reaps it.
    const parent = new Deno.Command("sh", {
      args: [
        "-c",
        'exec 3<&0; "$0" run -A --quiet tests/fixtures/room_lock_holder.ts "$1" zed idle <&3 & ' +
        'echo "holder $!"; exec cat <&3 >/dev/null',
        Deno.execPath(),
        room,
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    let holder = 0;
    try {
      let locked = false;
      for await (const line of linesOf(parent.stdout)) {
        if (line.startsWith("holder ")) holder = Number(line.slice(7));
        if (line === "locked") locked = true;
        if (holder > 0 && locked) break;
      }
      assert.ok(holder > 0 && locked, "the holder did not take the lock");
      Deno.kill(holder, "SIGKILL");
      await waitUntil(() => processState(holder) === "Z", 5000, "the holder to be a zombie");
      const started = performance.now();
      ann.send("past the zombie");
      const took = performance.now() - started;
      assert.ok(took < 1000, `send waited ${took.toFixed(0)} ms for a zombie's lock`);
      assert.equal((await nextMessage(bob)).text, "past the zombie");
      assert.equal(processState(holder), "Z", "the holder was reaped before the end");
      // The last one out judges the zombie gone too, and removes the room.
      bob.leave();
      ann.leave();
      assertNoLeftovers(segment);
    } finally {
      bob.leave();
      ann.leave();
      if (holder > 0 && processState(holder) !== undefined) Deno.kill(holder, "SIGKILL");
      await parent.stdin.close();
      await parent.status;
    }
  },
});

Deno.test({
  name:
    "a lock and an entry naming a running pid with another start time are recovered, even when that pid is the joiner's own",
  ignore: Deno.build.os !== "linux",
  fn() {
    const { room, segment } = testRoom("reuse");
    const ann = Room.join(room, "ann");
    using shm = SharedMemory.open(segment);
    const f64 = new Float64Array(shm.buffer, 0, shm.size >> 3);
    const i32 = new Int32Array(shm.buffer, 0, shm.size >> 2);
    // What a process of this very pid, started at another time, would have left when it
    // died: the lock taken and an entry of its own. This process is its pid's next owner.
    // Start 1 is the first clock tick after boot, when this process did not start.
    const otherStart = 1;
    assert.notEqual(f64[(entryWord(1) >> 1) + P.F_START], otherStart);
    i32[H.I_LOCK] = Deno.pid; // the lock word: pid in the low 32 bits, start in the high
    i32[H.I_LOCK + 1] = otherStart;
    const ghost = entryWord(7);
    const name = new TextEncoder().encode("ghost");
    new Uint8Array(shm.buffer).set(name, (ghost << 2) + P.NAME);
    i32[ghost + P.I_NAME_LENGTH] = name.length;
    f64[(ghost >> 1) + P.F_START] = otherStart;
    f64[(ghost >> 1) + P.F_HEARTBEAT] = Date.now() - 60_000;
    Atomics.store(i32, ghost + P.I_PID, Deno.pid);
    let bob: Room | undefined;
    try {
      const started = performance.now();
      bob = Room.join(room, "bob");
      const took = performance.now() - started;
      assert.ok(took < 1000, `join waited ${took.toFixed(0)} ms on a dead owner's lock`);
      assert.deepEqual(bob.participants().map((p) => p.name), ["ann", "bob"]);
      assert.deepEqual(ann.poll().map((e) => [e.kind, e.from.name]), [
        ["leave", "ghost"],
        ["join", "bob"],
      ]);
      ann.send("hello");
      assert.deepEqual(bob.poll().map((e) => e.text), ["hello"]);
    } finally {
      bob?.leave();
      ann.leave();
    }
    assertNoLeftovers(segment);
  },
});

Deno.test({
  name:
    "ipc ls calls a room stale and ipc clean removes it when its only entry's pid now belongs to another process",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { room, segment } = testRoom("reused");
    const ann = Room.join(room, "ann");
    try {
      // Ann's entry now says: a process with this pid, started at another time.
      using shm = SharedMemory.open(segment);
      const f64 = new Float64Array(shm.buffer, 0, shm.size >> 3);
      const start = (entryWord(1) >> 1) + P.F_START;
      f64[start] = (f64[start] % 0xffff_fffe) + 1;
      const ls = await spawn(["main.ts", "ipc", "ls", "--json", "--filter", room]).done;
      assert.equal(ls.code, 0, ls.stderr);
      assert.deepEqual(
        JSON.parse(ls.stdout).map((o: { owners: number[]; alive: boolean; state: string }) => [
          o.owners,
          o.alive,
          o.state,
        ]),
        [[[Deno.pid], false, "stale"]],
      );
      const clean = await spawn(["main.ts", "ipc", "clean", "--json", "--filter", room]).done;
      assert.equal(clean.code, 0, clean.stderr);
      assert.deepEqual(JSON.parse(clean.stdout), { removed: [segment], kept: [] });
      assertNoLeftovers(segment);
    } finally {
      // Removed under it: leaving must neither fail nor remove a new room of that name.
      ann.leave();
    }
    assertNoLeftovers(segment);
  },
});

Deno.test({
  name:
    "a status board whose pid now belongs to another process is stale, and create() reclaims it",
  ignore: Deno.build.os !== "linux",
  fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const first = StatusBoard.create(port);
    try {
      using shm = SharedMemory.open(objectName("status", String(port)));
      const header = new Int32Array(shm.buffer, 0, 8);
      assert.equal(StatusBoard.read(port).stale, false);
      // Word 5: the writer's start time. This pid, another start: a server long gone.
      header[5] = (header[5] >>> 0) % 0xffff_fffe + 1;
      assert.equal(StatusBoard.read(port).stale, true);
      const second = StatusBoard.create(port);
      assert.equal(StatusBoard.read(port).stale, false);
      assert.equal(StatusBoard.read(port).pid, Deno.pid);
      second.close();
    } finally {
      first.close();
    }
    assertNoLeftovers(objectName("status", String(port)));
  },
});
