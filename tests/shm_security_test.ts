import assert from "node:assert/strict";
import { IpcError } from "../src/ipc/ipc_error.ts";
import { objectName } from "../src/ipc/names.ts";
import { Room } from "../src/ipc/room.ts";
import { SharedMemory } from "../src/ipc/shared_memory.ts";
import { StatusBoard } from "../src/ipc/status_board.ts";
import { assertNoLeftovers, leftovers, ROOT, spawn, uniqueName } from "./_helpers.ts";
import { startServe } from "./_irc.ts";

const NOBODY = 65534;
const uid = Deno.uid()!;
const asRoot = Deno.build.os === "linux" && uid === 0;
const decoder = new TextDecoder();

/** A port held for the test: a status board is named after its port; nobody else gets it. */
function holdPort(): Deno.TcpListener {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

/** Every /dev/shm entry under `prefix` with its mode and owner. */
function entries(prefix: string): { name: string; mode: number; uid: number }[] {
  return leftovers(prefix).map((name) => {
    const stat = Deno.statSync(`/dev/shm/${name}`);
    return { name, mode: stat.mode! & 0o777, uid: stat.uid! };
  });
}

/** Runs a command as user nobody (uid and gid 65534, no groups). */
function asNobody(command: string, args: string[], options: Deno.CommandOptions = {}) {
  return new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", command, ...args],
    ...options,
  });
}

/**
 * Another user squats a name: a real process of user nobody creates /dev/shm/NAME (mode
 * 0644, by its umask) holding `content`, before shmooze makes it.
 */
async function squatAsNobody(name: string, content: string): Promise<string> {
  const path = `/dev/shm/${name}`;
  const made = await asNobody("sh", [
    "-c",
    'umask 022 && printf %s "$1" > "$2"',
    "sh",
    content,
    path,
  ])
    .output();
  assert.equal(made.code, 0, decoder.decode(made.stderr));
  return path;
}

/** Fails unless the squatter's file is as it made it: its owner, mode and bytes. */
function assertUntouched(path: string, owner: number, content: string): void {
  const stat = Deno.statSync(path);
  assert.equal(stat.uid, owner, `${path} owner`);
  assert.equal(stat.mode! & 0o777, 0o644, `${path} mode`);
  assert.equal(Deno.readTextFileSync(path), content, `${path} content`);
}

Deno.test({
  name: "The room and the status board are 0600, owned by their user and named with its uid",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    const room = uniqueName("modes");
    using listener = holdPort();
    const port = listener.addr.port;
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
  ignore: !asRoot,
  fn: () => {
    const room = uniqueName("owner");
    using listener = holdPort();
    const port = listener.addr.port;
    const roomSegment = objectName("room", room);
    const boardSegment = objectName("status", String(port));
    const ann = Room.join(room, "ann");
    const board = StatusBoard.create(port);
    // Root can chown: the segments now look like another user's (uid 65534, "nobody").
    const owned = [...entries(roomSegment), ...entries(boardSegment)].map((e) => e.name);
    for (const name of owned) Deno.chownSync(`/dev/shm/${name}`, NOBODY, NOBODY);
    try {
      const refused = (fn: () => unknown, what: string, name: string) =>
        assert.throws(fn, (error: unknown) => {
          assert.ok(error instanceof IpcError, `${what}: ${error}`);
          assert.equal(error.code, "EOWNER", what);
          assert.ok(
            error.message.includes(
              `belongs to uid ${NOBODY} (nobody), not to you (uid ${uid}); ` +
                `it is the file /dev/shm/${name}`,
            ),
            error.message,
          );
          return true;
        });
      refused(() => SharedMemory.open(roomSegment), "SharedMemory.open of the room", roomSegment);
      refused(() => Room.join(room, "bob"), "Room.join", roomSegment);
      refused(() => StatusBoard.read(port), "StatusBoard.read", boardSegment);
      // The board is private, so a new one takes a fresh name rather than another's.
      const fresh = StatusBoard.create(port);
      try {
        assert.match(fresh.name, new RegExp(`^${boardSegment}\\.[a-z0-9]+$`));
        assert.equal(StatusBoard.read(port).name, fresh.name);
      } finally {
        fresh.close();
      }
      assert.deepEqual(entries(boardSegment), [{ name: boardSegment, mode: 0o600, uid: NOBODY }]);
    } finally {
      for (const name of owned) Deno.chownSync(`/dev/shm/${name}`, uid, uid);
      ann.leave();
      board.close();
    }
    assertNoLeftovers(roomSegment);
    assertNoLeftovers(boardSegment);
  },
});

Deno.test({
  name:
    "serve starts when another user took its status board's name: a fresh board that status finds, theirs untouched",
  ignore: !asRoot,
  async fn() {
    // The port must be known before serve starts, to squat its board's name first.
    const port = (() => {
      using listener = holdPort();
      return listener.addr.port;
    })();
    const boardSegment = objectName("status", String(port));
    const squatted = await squatAsNobody(boardSegment, "squatted");
    try {
      await using server = await startServe({ status: true, args: ["--port", String(port)] });
      assert.equal(server.port, port);
      const result = await spawn(["main.ts", "status", "--port", String(port), "--json"]).done;
      assert.equal(result.code, 0, result.stderr);
      const board = JSON.parse(result.stdout);
      assert.equal(board.pid, server.child.process.pid);
      assert.equal(board.stale, false);
      assert.match(board.name, new RegExp(`^${boardSegment}\\.[a-z0-9]+$`));
      assert.equal(entries(boardSegment).filter((e) => e.uid === uid).length, 1);
      assertUntouched(squatted, NOBODY, "squatted");
    } finally {
      assertUntouched(squatted, NOBODY, "squatted");
      Deno.removeSync(squatted);
    }
    assertNoLeftovers(boardSegment);
  },
});

Deno.test({
  name:
    "local refuses a room another user made, naming the file and its owner and what to do, and touches nothing of theirs",
  ignore: !asRoot,
  async fn() {
    const room = uniqueName("squat");
    const segment = objectName("room", room);
    const squatted = await squatAsNobody(segment, "squatted");
    try {
      const result = await spawn(["main.ts", "local", "--room", room, "--name", "ann"]).done;
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.ok(
        result.stderr.includes(
          `Cannot open shared memory "${segment}": it belongs to uid ${NOBODY} (nobody), ` +
            `not to you (uid ${uid}); it is the file ${squatted} (EOWNER); choose another ` +
            "room with --room, or ask its owner or an administrator to remove it",
        ),
        result.stderr,
      );
      assertUntouched(squatted, NOBODY, "squatted");
    } finally {
      Deno.removeSync(squatted);
    }
    assertNoLeftovers(segment);
  },
});

Deno.test({
  name:
    "a user who may not open a squatted name (EACCES) gets a fresh status board and an EOWNER room error naming the owner",
  ignore: !asRoot,
  async fn() {
    // The squatter is root this time; the victim, nobody, is refused by the file's mode.
    using listener = holdPort();
    const port = listener.addr.port;
    const room = uniqueName("eacces");
    const names = [`shmooze-${NOBODY}-status-${port}`, `shmooze-${NOBODY}-room-${room}`];
    const paths = names.map((name) => `/dev/shm/${name}`);
    for (const path of paths) Deno.writeTextFileSync(path, "root's", { mode: 0o644 });
    const home = Deno.makeTempDirSync({ prefix: "shmooze-nobody-" });
    Deno.chownSync(home, NOBODY, NOBODY);
    try {
      const fixture = `${ROOT}tests/fixtures/squat_victim.ts`;
      const child = asNobody("env", [
        `HOME=${home}`,
        `DENO_DIR=${home}/deno`,
        "NO_COLOR=1",
        Deno.execPath(),
        "run",
        "--no-config",
        "-A",
        "--quiet",
        fixture,
        String(port),
        room,
      ], { cwd: home, stdout: "piped", stderr: "piped", signal: AbortSignal.timeout(30_000) });
      const { code, stdout, stderr } = await child.output();
      const out = decoder.decode(stdout);
      assert.equal(code, 0, decoder.decode(stderr));
      assert.match(out, new RegExp(`^board ${names[0]}\\.[a-z0-9]+$`, "m"));
      assert.match(out, new RegExp(`^read ${names[0]}\\.[a-z0-9]+$`, "m"));
      assert.ok(
        out.includes(
          `join EOWNER Cannot open shared memory "${names[1]}": it belongs to uid 0 (root), ` +
            `not to you (uid ${NOBODY}); it is the file ${paths[1]} (EOWNER)`,
        ),
        out,
      );
      for (const path of paths) {
        assert.equal(Deno.statSync(path).uid, 0);
        assert.equal(Deno.readTextFileSync(path), "root's");
      }
    } finally {
      for (const path of paths) Deno.removeSync(path);
      Deno.removeSync(home, { recursive: true });
    }
    assertNoLeftovers(names[0]);
    assertNoLeftovers(names[1]);
  },
});
