import assert from "node:assert/strict";
import { IpcError } from "../src/ipc/ipc_error.ts";
import { objectName } from "../src/ipc/names.ts";
import { Room } from "../src/ipc/room.ts";
import { SharedMemory } from "../src/ipc/shared_memory.ts";
import { StatusBoard } from "../src/ipc/status_board.ts";
import { assertNoLeftovers, leftovers } from "./_helpers.ts";

const NOBODY = 65534;
const uid = Deno.uid()!;

/** A room name unique to this test process. */
function roomName(label: string): string {
  return `sec${Deno.pid}${label}`;
}

/** A port no server of this test run uses: the status board only needs a number. */
function boardPort(offset: number): number {
  return 1 + ((Deno.pid * 7 + offset) % 60_000);
}

/** Every /dev/shm entry under `prefix` with its mode and owner. */
function entries(prefix: string): { name: string; mode: number; uid: number }[] {
  return leftovers(prefix).map((name) => {
    const stat = Deno.statSync(`/dev/shm/${name}`);
    return { name, mode: stat.mode! & 0o777, uid: stat.uid! };
  });
}

Deno.test({
  name: "The room and the status board are 0600, owned by their user and named with its uid",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const room = roomName("modes");
    const port = boardPort(1);
    const prefix = objectName("room", room);
    const ann = Room.join(room, "ann");
    const board = StatusBoard.create(port);
    try {
      assert.ok(prefix.startsWith(`shmooze-${uid}-room-`), prefix);
      const objects = [...entries(prefix), ...entries(objectName("status", String(port)))];
      assert.ok(objects.length >= 2, JSON.stringify(objects));
      for (const object of objects) {
        assert.equal(object.mode, 0o600, `${object.name} mode ${object.mode.toString(8)}`);
        assert.equal(object.uid, uid, `${object.name} owner`);
        assert.ok(object.name.includes(`shmooze-${uid}-`), object.name);
      }
    } finally {
      ann.leave();
      board.close();
    }
    assertNoLeftovers(prefix);
  },
});

Deno.test({
  name:
    "Segments that belong to another user are refused: SharedMemory, the room, the status board",
  ignore: Deno.build.os !== "linux" || uid !== 0,
  fn: () => {
    const room = roomName("owner");
    const port = boardPort(2);
    const roomSegment = objectName("room", room);
    const boardSegment = objectName("status", String(port));
    const ann = Room.join(room, "ann");
    const board = StatusBoard.create(port);
    // Root can chown: the segments now look like another user's (uid 65534, "nobody").
    const owned = [...entries(roomSegment), ...entries(boardSegment)].map((e) => e.name);
    for (const name of owned) Deno.chownSync(`/dev/shm/${name}`, NOBODY, NOBODY);
    try {
      const refused = (fn: () => unknown, what: string) =>
        assert.throws(fn, (error: unknown) => {
          assert.ok(error instanceof IpcError, `${what}: ${error}`);
          assert.equal(error.code, "EOWNER", what);
          assert.match(error.message, new RegExp(`belongs to uid ${NOBODY}, not to you`));
          return true;
        });
      refused(() => SharedMemory.open(roomSegment), "SharedMemory.open of the room");
      refused(() => Room.join(room, "bob"), "Room.join");
      refused(() => StatusBoard.read(port), "StatusBoard.read");
      assert.throws(() => StatusBoard.create(port), IpcError, "StatusBoard.create");
    } finally {
      for (const name of owned) Deno.chownSync(`/dev/shm/${name}`, uid, uid);
      ann.leave();
      board.close();
    }
    assertNoLeftovers(roomSegment);
    assertNoLeftovers(boardSegment);
  },
});
