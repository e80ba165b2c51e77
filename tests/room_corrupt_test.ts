import assert from "node:assert/strict";
import { IpcError, objectName, SharedMemory } from "../src/ipc/mod.ts";
import { Room } from "../src/ipc/room.ts";
import { H, HEADER_BYTES, RING_OFFSET } from "../src/ipc/_room_layout.ts";
import { platform } from "../src/ipc/platform.ts";
import { assertNoLeftovers, type Child, spawn, uniqueName } from "./_helpers.ts";

/** One way a room's header can be wrong, and what a joiner must say about it. */
interface Corruption {
  label: string;
  /** Spoils the header. */
  spoil(header: { i32: Int32Array; f64: Float64Array }): void;
  code: string;
  /** What the message must say about the field. */
  says: string;
  /** The state `ipc ls` shows for it. */
  state: "corrupt" | "unknown";
}

const CORRUPTIONS: Corruption[] = [
  {
    label: "seq53",
    spoil: ({ f64 }) => f64[H.F_WRITE_SEQ] = 2 ** 53,
    code: "ECORRUPT",
    says: "its write sequence is 9007199254740992, not a whole number from 0 to 2^53 − 2",
    state: "corrupt",
  },
  {
    label: "seqnan",
    spoil: ({ f64 }) => f64[H.F_WRITE_SEQ] = NaN,
    code: "ECORRUPT",
    says: "its write sequence is NaN",
    state: "corrupt",
  },
  {
    label: "seqneg",
    spoil: ({ f64 }) => f64[H.F_WRITE_SEQ] = -5,
    code: "ECORRUPT",
    says: "its write sequence is -5",
    state: "corrupt",
  },
  {
    label: "huge",
    spoil: ({ i32 }) => i32[H.I_CAPACITY] = 0x7fffffff,
    code: "ECORRUPT",
    says: "its capacity is 2147483647 slots, not 2 to 65536",
    state: "corrupt",
  },
  {
    label: "toobig",
    spoil: ({ i32 }) => i32[H.I_CAPACITY] = 1000,
    code: "ECORRUPT",
    says: `its 1000 slots need ${RING_OFFSET + 1000 * 1120} bytes, but it has`,
    state: "corrupt",
  },
  {
    label: "slot",
    spoil: ({ i32 }) => i32[H.I_SLOT_BYTES] = 64,
    code: "ECORRUPT",
    says: "its slot size is 64 bytes, not 1120",
    state: "corrupt",
  },
  {
    label: "state",
    spoil: ({ i32 }) => i32[H.I_STATE] = 7,
    code: "ECORRUPT",
    says: "its state is 7, not 0, 1 or 2",
    state: "corrupt",
  },
  {
    label: "magic",
    spoil: ({ i32 }) => i32[H.I_MAGIC] = 0x12345678,
    code: "EBADMAGIC",
    says: "it is not a shmooze room (magic 0x12345678",
    state: "corrupt",
  },
  {
    label: "version",
    spoil: ({ i32 }) => i32[H.I_VERSION] = 4,
    code: "EVERSION",
    says: "it has room layout version 4; this shmooze uses version",
    state: "unknown",
  },
];

/** A room with one member in this process, and its header to spoil and mend. */
function roomWith(room: string) {
  const member = Room.join(room, "ann");
  const shm = SharedMemory.open(objectName("room", room));
  const header = {
    i32: new Int32Array(shm.buffer, 0, HEADER_BYTES >> 2),
    f64: new Float64Array(shm.buffer, 0, HEADER_BYTES >> 3),
  };
  const saved = new Uint8Array(shm.buffer, 0, HEADER_BYTES).slice();
  return {
    member,
    header,
    /** Puts the header back as it was, so that everyone can leave. */
    mend() {
      if (!shm.closed) new Uint8Array(shm.buffer, 0, HEADER_BYTES).set(saved);
      shm.close();
    },
  };
}

/** The child's exit status, or undefined if it is still running after `ms`. */
async function exitWithin(child: Child, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([child.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `shmooze ipc ...` limited to this test's objects and parses its JSON. */
async function ipc(...args: string[]) {
  const result = await spawn(["main.ts", "ipc", ...args, "--json"]).done;
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

Deno.test("Room.join() refuses a corrupt header at once with a typed IpcError naming the segment and the field; ipc ls marks it, clean keeps it, clean --force removes it", async () => {
  const prefix = uniqueName("corrupt");
  const rooms = CORRUPTIONS.map((c) => ({ ...c, room: `${prefix}-${c.label}` }));
  const made = rooms.map((c) => ({ ...c, ...roomWith(c.room) }));
  try {
    for (const c of made) {
      c.spoil(c.header);
      const segment = objectName("room", c.room);
      const started = performance.now();
      assert.throws(() => Room.join(c.room, "bob"), (error: unknown) => {
        assert.ok(error instanceof IpcError, `${c.label}: ${error}`);
        assert.equal(error.code, c.code, `${c.label}: ${error.message}`);
        assert.equal(error.objectName, segment);
        assert.ok(
          error.message.startsWith(`Cannot join room "${c.room}" in shared memory "${segment}": `),
          error.message,
        );
        assert.ok(error.message.includes(c.says), `${c.label}: ${error.message}`);
        return true;
      });
      const took = performance.now() - started;
      assert.ok(took < 500, `${c.label}: join took ${took.toFixed(0)} ms to refuse`);
    }

    const listed = await ipc("ls", "--filter", prefix) as {
      name: string;
      state: string;
      detail: string;
    }[];
    assert.deepEqual(
      listed.map((o) => [o.name, o.state]),
      rooms.map((c) => [objectName("room", c.room), c.state]).sort(([a], [b]) =>
        a.localeCompare(b)
      ),
    );
    for (const c of rooms) {
      const object = listed.find((o) => o.name === objectName("room", c.room))!;
      assert.ok(object.detail.includes(c.says), object.detail);
    }

    const kept = await ipc("clean", "--filter", prefix);
    assert.deepEqual(kept.removed, []);
    assert.equal(kept.kept.length, rooms.length);
    for (const { reason } of kept.kept) {
      assert.match(reason, /^(corrupt|owners unknown) \(--force removes it\)$/);
    }

    const forced = await ipc("clean", "--force", "--filter", prefix);
    assert.deepEqual(forced.removed.sort(), rooms.map((c) => objectName("room", c.room)).sort());
  } finally {
    for (const c of made) {
      c.mend();
      c.member.leave();
    }
  }
  assertNoLeftovers(objectName("room", prefix));
});

Deno.test("a member of a room whose write sequence turns negative refuses to send rather than write into the participants table", () => {
  const room = uniqueName("negative");
  const { member: ann, header, mend } = roomWith(room);
  const bob = Room.join(room, "bob");
  try {
    using shm = SharedMemory.open(objectName("room", room));
    const table = () =>
      new Uint8Array(shm.buffer, HEADER_BYTES, RING_OFFSET - HEADER_BYTES).slice();
    const before = table();
    header.f64[H.F_WRITE_SEQ] = -5;
    assert.throws(() => ann.send("into the table"), (error: unknown) => {
      assert.ok(error instanceof IpcError);
      assert.equal(error.code, "ECORRUPT");
      assert.match(
        error.message,
        /^Cannot use room ".*" in shared memory ".*": it is corrupt: its write sequence is -5,/,
      );
      return true;
    });
    assert.throws(() => bob.poll(), { code: "ECORRUPT" });
    assert.deepEqual(table(), before);
  } finally {
    mend();
    bob.leave();
    ann.leave();
  }
  assertNoLeftovers(objectName("room", room));
});

for (
  const [label, value, shown] of [["2^53", 2 ** 53, "9007199254740992"], [
    "NaN",
    NaN,
    "NaN",
  ]] as const
) {
  Deno.test(`local exits 1 with a clear error instead of spinning when its room's write sequence becomes ${label}`, async () => {
    const room = uniqueName("spin");
    const segment = objectName("room", room);
    const { member: ann, header, mend } = roomWith(room);
    try {
      // One already in the room, reading; one joining after the damage.
      await using inside = spawn(["main.ts", "local", "--room", room, "--name", "bob"]);
      await inside.waitForLine("joined room", 20_000);
      header.f64[H.F_WRITE_SEQ] = value;
      // The reader sleeps on the futex word, which the damage did not change: wake it.
      using shm = SharedMemory.open(segment);
      platform().wakeAddress?.(Deno.UnsafePointer.offset(shm.pointer, H.I_SEQ_WORD * 4)!, 16);
      await using joiner = spawn(["main.ts", "local", "--room", room, "--name", "carl"]);
      await joiner.closeStdin();
      for (const child of [joiner, inside]) {
        const result = await exitWithin(child, 10_000);
        assert.ok(result !== undefined, "still running 10 s later (spinning?)");
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
        assert.ok(
          result.stderr.includes(
            `in shared memory "${segment}": it is corrupt: its write sequence is ${shown}, ` +
              "not a whole number from 0 to 2^53 − 2 (ECORRUPT); remove it with " +
              `\`shmooze ipc clean --force --filter ${segment}\``,
          ),
          result.stderr,
        );
      }
    } finally {
      mend();
      ann.leave();
    }
    assertNoLeftovers(segment);
  });
}

Deno.test("serve --local-room refuses a room that is not a room in one line that says how to remove it", async () => {
  const room = uniqueName("bridge-corrupt");
  const segment = objectName("room", room);
  const { member: ann, header, mend } = roomWith(room);
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-corrupt-test-" });
  try {
    header.i32[H.I_MAGIC] = 0x12345678;
    const result = await spawn([
      "main.ts",
      "serve",
      ...["--host", "127.0.0.1", "--port", "0", "--no-http", "--no-status", "--data", dataDir],
      ...["--local-room", room],
    ]).done;
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.ok(
      result.stderr.includes(
        `"${segment}": it is not a shmooze room (magic 0x12345678, expected 0x4d4f4f52) ` +
          `(EBADMAGIC); remove it with \`shmooze ipc clean --force --filter ${segment}\` ` +
          "(whoever is still in it must join again)",
      ),
      result.stderr,
    );
  } finally {
    mend();
    ann.leave();
    await Deno.remove(dataDir, { recursive: true });
  }
  assertNoLeftovers(segment);
});
