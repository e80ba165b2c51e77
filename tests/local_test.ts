import assert from "node:assert/strict";
import { objectName } from "../src/ipc/mod.ts";
import { assertNoLeftovers, type Child, spawn, uniqueName } from "./_helpers.ts";

/** Starts `shmooze local` and waits until it has joined. */
async function local(room: string, name: string, timeoutMs = 30_000): Promise<Child> {
  const child = spawn(["main.ts", "local", "--room", room, "--name", name], { timeoutMs });
  await child.waitForLine(`joined room ${room} as ${name}`, 20_000);
  return child;
}

Deno.test("three local processes exchange messages and private messages", async () => {
  const room = uniqueName("three");
  await using ann = await local(room, "ann");
  await using bob = await local(room, "bob");
  await using carl = await local(room, "carl");
  await ann.waitForLine(/^\[\d\d:\d\d:\d\d\] \* carl joined$/);

  await ann.writeLine("hello all");
  await bob.waitForLine(/^\[\d\d:\d\d:\d\d\] <ann> hello all$/);
  await carl.waitForLine("<ann> hello all");

  await bob.writeLine("/msg carl just for you");
  await carl.waitForLine(/^\[\d\d:\d\d:\d\d\] \*bob\* \(private\) just for you$/);
  await bob.writeLine("after the secret");
  await ann.waitForLine("<bob> after the secret");
  assert.ok(!ann.lines.some((line) => line.includes("just for you")), "ann saw a private message");

  await carl.writeLine("/who");
  await carl.waitForLine("here: ann, bob, carl (you)");

  await ann.writeLine("/quit");
  assert.equal((await ann.done).code, 0);
  await bob.waitForLine("* ann left");
  await bob.closeStdin();
  assert.equal((await bob.done).code, 0);
  assert.match((await bob.done).stdout, /left room /);
  carl.process.kill("SIGTERM");
  const last = await carl.done;
  assert.equal(last.code, 0);
  assert.match(last.stdout, /\* bob left\nleft room /);
  assertNoLeftovers(objectName("room", room));
});

Deno.test("local refuses a name already in the room with a clear message and exit code 1", async () => {
  const room = uniqueName("dup");
  await using ann = await local(room, "ann");
  const second = spawn(["main.ts", "local", "--room", room, "--name", "ann"]);
  const result = await second.done;
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: Cannot join room ".*" as "ann": the name is taken by process \d+ \(EEXIST\); choose another name with --name$/m,
  );
  await ann.closeStdin();
  await ann.done;
  assertNoLeftovers(objectName("room", room));
});

Deno.test("local leaves cleanly on SIGINT and the last one out removes the room", async () => {
  const room = uniqueName("sigint");
  await using ann = await local(room, "ann");
  await using bob = await local(room, "bob");
  bob.process.kill("SIGINT");
  assert.equal((await bob.done).code, 0);
  await ann.waitForLine("* bob left");
  ann.process.kill("SIGINT");
  const result = await ann.done;
  assert.equal(result.code, 0);
  assert.match(result.stdout, /left room /);
  assertNoLeftovers(objectName("room", room));
});

Deno.test("local splits a line longer than 1 KiB into messages of at most 1024 bytes", async () => {
  const room = uniqueName("split");
  await using ann = await local(room, "ann");
  await using bob = await local(room, "bob");
  await ann.writeLine("é".repeat(700)); // 1400 bytes: 512 characters, then 188
  await bob.waitForLine(new RegExp(`<ann> ${"é".repeat(188)}$`));
  const received = bob.lines.filter((line) => line.includes("<ann>"));
  assert.deepEqual(received.map((line) => line.split("> ")[1].length), [512, 188]);
  await ann.closeStdin();
  await bob.closeStdin();
  await Promise.all([ann.done, bob.done]);
  assertNoLeftovers(objectName("room", room));
});

Deno.test("local splits a long line of words between words, every message within 1024 bytes", async () => {
  const room = uniqueName("words");
  await using ann = await local(room, "ann");
  await using bob = await local(room, "bob");
  const words = Array.from({ length: 300 }, (_, i) => `wörd${i}`);
  await ann.writeLine(words.join(" ")); // 2190 bytes
  await bob.waitForLine(/<ann> .*wörd299$/);
  const pieces = bob.lines.filter((line) => line.includes("<ann>")).map((l) => l.split("> ")[1]);
  assert.equal(pieces.length, 3);
  for (const piece of pieces) assert.ok(new TextEncoder().encode(piece).length <= 1024);
  assert.equal(pieces.join(" "), words.join(" "));
  await ann.closeStdin();
  await bob.closeStdin();
  await Promise.all([ann.done, bob.done]);
  assertNoLeftovers(objectName("room", room));
});

Deno.test("a participant SIGKILLed holding the lock, 50 times: the others carry on within 1 s, nothing torn", async () => {
  const room = uniqueName("kill");
  await using ann = await local(room, "ann", 180_000);
  await using bob = await local(room, "bob", 180_000);
  const modes = ["half", "unpublished", "idle"];
  for (let i = 0; i < 50; i++) {
    await using holder = spawn([
      "tests/fixtures/room_lock_holder.ts",
      room,
      `holder${i}`,
      modes[i % modes.length],
    ]);
    await holder.waitForLine("locked", 20_000);
    holder.process.kill("SIGKILL");
    await holder.done;
    const started = performance.now();
    await ann.writeLine(`message ${i}`);
    await bob.waitForLine(`<ann> message ${i}`, 1000);
    assert.ok(performance.now() - started < 1000);
  }
  await ann.closeStdin();
  await bob.closeStdin();
  const [a, b] = await Promise.all([ann.done, bob.done]);
  assert.equal(a.code, 0);
  assert.equal(b.code, 0);
  const said = b.stdout.split("\n").filter((line) => line.includes("<"));
  assert.deepEqual(said.map((line) => line.replace(/^\[.*?\] /, "")), [
    ...Array.from({ length: 50 }, (_, i) => `<ann> message ${i}`),
  ]);
  assert.ok(!b.stdout.includes("TORN") && !a.stdout.includes("TORN"));
  assert.ok(!b.stdout.includes("missed"));
  assertNoLeftovers(objectName("room", room));
});

Deno.test("a participant killed with SIGKILL is reaped and announced as leaving", async () => {
  const room = uniqueName("reap");
  await using ann = await local(room, "ann");
  const bob = await local(room, "bob");
  bob.process.kill("SIGKILL");
  await bob.done;
  await ann.waitForLine("* bob left", 5000);
  await ann.writeLine("/who");
  await ann.waitForLine("here: ann (you)");
  await ann.closeStdin();
  await ann.done;
  assertNoLeftovers(objectName("room", room));
});
