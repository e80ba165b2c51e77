import assert from "node:assert/strict";
import { objectName } from "../src/ipc/mod.ts";
import { assertNoLeftovers, spawn, uniqueName } from "./_helpers.ts";

/** Runs `shmooze ipc ...` limited to this test's objects and parses its JSON. */
async function ipc(action: "ls" | "clean", filter: string) {
  const result = await spawn(["main.ts", "ipc", action, "--json", "--filter", filter]).done;
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

Deno.test("ipc ls shows a room's participants and clean removes what a killed process left behind", async () => {
  const label = uniqueName("ipc");
  const dead = objectName("room", `${label}-dead`);
  const live = objectName("room", `${label}-live`);
  await using killed = spawn(["main.ts", "local", "--room", `${label}-dead`, "--name", "ann"]);
  await using alive = spawn(["main.ts", "local", "--room", `${label}-live`, "--name", "bob"]);
  await killed.waitForLine("joined room", 20_000);
  await alive.waitForLine("joined room", 20_000);
  killed.process.kill("SIGKILL");
  await killed.done;

  const listed = await ipc("ls", label);
  assert.deepEqual(
    listed.map((o: { name: string; kind: string; owners: number[]; alive: boolean }) => [
      o.name,
      o.kind,
      o.owners,
      o.alive,
    ]),
    [
      [dead, "room", [killed.process.pid], false],
      [live, "room", [alive.process.pid], true],
    ],
  );

  assert.deepEqual(await ipc("clean", label), {
    removed: [dead],
    kept: [{ name: live, reason: "owner alive" }],
  });
  assertNoLeftovers(dead);

  await alive.closeStdin();
  assert.equal((await alive.done).code, 0);
  assertNoLeftovers(live);
  assert.deepEqual(await ipc("ls", label), []);
});

Deno.test("ipc without a subcommand is a usage error", async () => {
  const result = await spawn(["main.ts", "ipc"]).done;
  assert.equal(result.code, 2);
  assert.match(result.stderr, /ipc needs a subcommand: ls or clean/);
});
