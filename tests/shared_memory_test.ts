import assert from "node:assert/strict";
import { SharedMemory } from "../src/ipc/mod.ts";
import { assertNoLeftovers, spawn, uniqueName } from "./_helpers.ts";

Deno.test("SharedMemory: one process writes a segment, another opens and reads it", async () => {
  const name = uniqueName("xproc");
  {
    await using writer = spawn(["tests/fixtures/ipc_child.ts", "write", name, "hello, shmooze"]);
    await writer.waitForLine("written");
    await using reader = spawn(["tests/fixtures/ipc_child.ts", "read", name]);
    const result = await reader.done;
    assert.deepEqual(result.stdout.trim(), "hello, shmooze", result.stderr);
    await writer.closeStdin();
    assert.deepEqual((await writer.done).code, 0);
  }
  assertNoLeftovers(name);
});

Deno.test("SharedMemory.open() of a missing name throws IpcError ENOENT naming it", () => {
  const name = uniqueName("missing");
  assert.throws(() => SharedMemory.open(name), {
    name: "IpcError",
    code: "ENOENT",
    call: "shm_open",
    objectName: name,
    message: `Cannot open shared memory "${name}": it does not exist (ENOENT)`,
  });
});

Deno.test("SharedMemory.create() of an existing name throws IpcError EEXIST", () => {
  const name = uniqueName("exists");
  using first = SharedMemory.create(name, 64);
  try {
    assert.throws(() => SharedMemory.create(name, 64), {
      name: "IpcError",
      code: "EEXIST",
      objectName: name,
    });
  } finally {
    first.close();
    SharedMemory.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("SharedMemory rejects invalid names and sizes with a message saying why", () => {
  const cases: [string, RegExp][] = [
    ["lobby", /must start with "shmooze-"/],
    ["shmooze-a/b", /may only hold letters/],
    ["shmooze-has space", /may only hold letters/],
    [`shmooze-${"x".repeat(300)}`, /the name is 308 characters; linux allows 250/],
  ];
  for (const [name, message] of cases) {
    assert.throws(() => SharedMemory.create(name, 64), {
      name: "IpcError",
      code: "EBADNAME",
      message,
    });
  }
  assert.throws(() => SharedMemory.create(uniqueName("size"), 0), /positive whole number/);
  assert.throws(() => SharedMemory.create(uniqueName("size"), 1.5), /positive whole number/);
});

Deno.test("SharedMemory.create() makes a segment with mode 0600 whatever the umask", () => {
  const name = uniqueName("mode");
  const previous = Deno.umask(0o000);
  try {
    using shm = SharedMemory.create(name, 64);
    assert.deepEqual((Deno.statSync(`/dev/shm/${name}`).mode! & 0o777).toString(8), "600");
    shm.close();
  } finally {
    Deno.umask(previous);
    SharedMemory.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("SharedMemory.open() refuses a segment owned by another user", {
  ignore: Deno.uid() !== 0,
}, () => {
  // As root, hand the segment to "nobody" (65534) and open it again: must be refused.
  const name = uniqueName("owner");
  const shm = SharedMemory.create(name, 64);
  try {
    Deno.chownSync(`/dev/shm/${name}`, 65534, 65534);
    assert.throws(() => SharedMemory.open(name), {
      name: "IpcError",
      code: "EOWNER",
      message: /belongs to uid 65534/,
    });
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("SharedMemory.close() detaches the buffer so stale views read nothing", () => {
  const name = uniqueName("close");
  const shm = SharedMemory.create(name, 64);
  const view = new Uint8Array(shm.buffer);
  view[0] = 1;
  shm.close();
  shm.close();
  assert.deepEqual(view.length, 0);
  assert.deepEqual(view[0], undefined);
  assert.deepEqual(shm.closed, true);
  SharedMemory.unlink(name);
  assertNoLeftovers(name);
});
