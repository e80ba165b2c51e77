import assert from "node:assert/strict";
import { NamedSemaphore } from "../src/ipc/mod.ts";
import { assertNoLeftovers, spawn, uniqueName } from "./_helpers.ts";

Deno.test("NamedSemaphore: two processes ping-pong 1000 times through two semaphores", async () => {
  const prefix = uniqueName("pp");
  const ping = NamedSemaphore.create(`${prefix}-ping`, 0);
  const pong = NamedSemaphore.create(`${prefix}-pong`, 0);
  try {
    await using child = spawn([
      "tests/fixtures/ipc_child.ts",
      "pong",
      ping.name,
      pong.name,
      "1000",
    ]);
    for (let i = 0; i < 1000; i++) {
      ping.post();
      assert.ok(await pong.wait({ timeoutMs: 5000 }), `no pong for ping ${i}`);
    }
    const result = await child.done;
    assert.deepEqual(result.stdout.trim(), "pong done", result.stderr);
    assert.deepEqual(result.code, 0);
  } finally {
    ping.close();
    pong.close();
    NamedSemaphore.unlink(ping.name);
    NamedSemaphore.unlink(pong.name);
  }
  assertNoLeftovers(prefix);
});

Deno.test("NamedSemaphore.wait() with a timeout returns false in time", async () => {
  const name = uniqueName("timeout");
  using sem = NamedSemaphore.create(name, 0);
  try {
    const started = performance.now();
    assert.deepEqual(await sem.wait({ timeoutMs: 200 }), false);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 195 && elapsed < 1000, `waited ${elapsed} ms for a 200 ms timeout`);
  } finally {
    NamedSemaphore.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("NamedSemaphore.wait() does not block the event loop", async () => {
  const name = uniqueName("loop");
  using sem = NamedSemaphore.create(name, 0);
  try {
    // Three timer ticks while the wait is pending prove the loop runs: if the wait blocked
    // it, the ticks would come only after the wait had timed out.
    let ticks = 0;
    const threeTicks = Promise.withResolvers<void>();
    const interval = setInterval(() => ++ticks === 3 && threeTicks.resolve(), 10);
    let settled = false;
    const waiting = sem.wait({ timeoutMs: 10_000 }).finally(() => settled = true);
    try {
      await threeTicks.promise;
      assert.equal(settled, false, "the timers ran only after the wait had ended");
      sem.post();
      assert.deepEqual(await waiting, true);
    } finally {
      clearInterval(interval);
    }
  } finally {
    NamedSemaphore.unlink(name);
  }
});

Deno.test("NamedSemaphore.wait() stops when its signal aborts or the handle closes", async () => {
  const name = uniqueName("abort");
  const sem = NamedSemaphore.create(name, 0);
  try {
    const controller = new AbortController();
    const aborted = sem.wait({ signal: controller.signal });
    controller.abort();
    assert.deepEqual(await aborted, false);
    const closing = sem.wait();
    sem.close();
    assert.deepEqual(await closing, false);
    assert.throws(() => sem.post(), /this handle is closed/);
  } finally {
    NamedSemaphore.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("NamedSemaphore.open() of a missing name throws IpcError ENOENT", () => {
  const name = uniqueName("nosem");
  assert.throws(() => NamedSemaphore.open(name), {
    name: "IpcError",
    code: "ENOENT",
    message: `Cannot open semaphore "${name}": it does not exist (ENOENT)`,
  });
});

Deno.test("NamedSemaphore.create() of an existing name throws IpcError EEXIST", () => {
  const name = uniqueName("dupsem");
  using first = NamedSemaphore.create(name);
  try {
    assert.throws(() => NamedSemaphore.create(name), { name: "IpcError", code: "EEXIST" });
    const again = NamedSemaphore.openOrCreate(name, 0);
    assert.deepEqual(again.created, false);
    again.close();
  } finally {
    first.close();
    NamedSemaphore.unlink(name);
  }
  assertNoLeftovers(name);
});

Deno.test("NamedSemaphore rejects invalid names and initial values", () => {
  assert.throws(() => NamedSemaphore.create("sem"), /must start with "shmooze-"/);
  assert.throws(() => NamedSemaphore.create(uniqueName("neg"), -1), /initial value must be/);
});

Deno.test("NamedSemaphore.create() makes a semaphore with mode 0600", () => {
  const name = uniqueName("semmode");
  const previous = Deno.umask(0);
  try {
    using sem = NamedSemaphore.create(name);
    assert.deepEqual((Deno.statSync(`/dev/shm/sem.${name}`).mode! & 0o777).toString(8), "600");
    sem.close();
  } finally {
    Deno.umask(previous);
    NamedSemaphore.unlink(name);
  }
  assertNoLeftovers(name);
});
