/**
 * `shmooze serve` as a process: its first line, a taken port, the status board read by
 * another process, the operator console, and graceful shutdown on signals.
 */
import assert from "node:assert/strict";
import { objectName } from "../src/ipc/names.ts";
import { assertNoLeftovers, leftovers, spawn } from "./_helpers.ts";
import { IrcTestClient, startServe } from "./_irc.ts";

Deno.test("serve prints 'listening on HOST:PORT' first and refuses a port in use with exit 1", async () => {
  await using first = await startServe();
  assert.equal(first.child.lines[0], `listening on 127.0.0.1:${first.port}`);
  await using second = spawn([
    "main.ts",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(first.port),
    "--data",
    first.dataDir,
    "--no-status",
    "--no-http",
  ]);
  await second.closeStdin();
  const result = await second.done;
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${first.port}.*already in use`));
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
});

Deno.test("serve's status board is read by `shmooze status --json` during traffic", async () => {
  await using server = await startServe({ status: true, args: ["--flood-burst", "0"] });
  await using ann = await IrcTestClient.register(server.port, "ann");
  await using bob = await IrcTestClient.register(server.port, "bob");
  await ann.join("#lobby");
  await bob.join("#lobby");
  let talk = true;
  let sent = 0;
  const talking = (async () => {
    while (talk) {
      await ann.send(`PRIVMSG #lobby :message ${++sent}`);
      await bob.waitFor("PRIVMSG");
    }
  })();
  await using reader = spawn([
    "main.ts",
    "status",
    "--port",
    String(server.port),
    "--watch",
    "--json",
    "--interval",
    "100",
  ]);
  // A board published while messages flow: the count has moved past 10.
  const line = await reader.waitForLine(/"totalMessages":(\d{3,}|[2-9]\d|1[1-9])\b/, 20_000);
  talk = false;
  await talking;
  const board = JSON.parse(line);
  assert.equal(board.port, server.port);
  assert.equal(board.pid, server.child.process.pid);
  assert.equal(board.clients, 2);
  assert.equal(board.clientsByTransport.tcp, 2);
  assert.equal(board.channels, 1);
  assert.equal(board.stale, false);
  assert.equal(board.lastMessage.sender, "ann");
  assert.equal(board.lastMessage.target, "#lobby");
  assert.match(board.lastMessage.text, /^message \d+$/);
  assert.ok(board.totalMessages <= sent);
});

Deno.test("serve shuts down on SIGTERM: clients told, exit 0 within 2 s, no OS objects left", async () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    await using server = await startServe({ status: true });
    const board = objectName("status", String(server.port));
    assert.deepEqual(leftovers(board), [board], "the status board exists while serving");
    await using ann = await IrcTestClient.register(server.port, "ann");
    await ann.join("#lobby");
    const start = performance.now();
    server.child.process.kill(signal);
    assert.match((await ann.waitFor("ERROR")).params[0], /Server shutting down/);
    await ann.closed;
    const { code } = await server.child.done;
    const elapsed = performance.now() - start;
    assert.equal(code, 0, `exit code after ${signal}`);
    assert.ok(elapsed < 2000, `${signal} shutdown took ${elapsed.toFixed(0)} ms`);
    assertNoLeftovers(board);
  }
});

Deno.test("serve's operator console talks in #lobby, lists and kicks users, and shuts down", async () => {
  await using server = await startServe();
  await using ann = await IrcTestClient.register(server.port, "ann");
  await using bob = await IrcTestClient.register(server.port, "bob");
  await ann.join("#lobby");
  await bob.join("#lobby");
  await server.child.writeLine("hello from the operator");
  const said = await ann.waitFor("PRIVMSG");
  assert.equal(said.source?.split("!")[0], "*server*");
  assert.deepEqual(said.params, ["#lobby", "hello from the operator"]);
  // A long announcement is cut between words into lines that fit.
  const words = Array.from({ length: 150 }, (_, i) => `word${i}`);
  await server.child.writeLine(words.join(" "));
  const pieces = await ann.waitForMany((m) => m.command === "PRIVMSG", 3);
  for (const piece of pieces) assert.ok(new TextEncoder().encode(piece.line).length + 2 <= 512);
  assert.equal(pieces.map((piece) => piece.params[1]).join(" "), words.join(" "));
  await server.child.writeLine("/who");
  await server.child.waitForLine("2 user(s) connected");
  await server.child.waitForLine("  ann (tcp 127.0.0.1) #lobby");
  await server.child.writeLine("/kick bob flooding");
  await server.child.waitForLine("kicked bob");
  assert.match((await bob.waitFor("ERROR")).params[0], /Kicked by operator: flooding/);
  const quit = await ann.waitFor("QUIT");
  assert.equal(quit.source?.split("!")[0], "bob");
  await server.child.writeLine("/kick nobody");
  await server.child.waitForLine("no user named nobody");
  await server.child.writeLine("/help");
  await server.child.waitForLine("/shutdown");
  await server.child.writeLine("/shutdown");
  assert.match((await ann.waitFor("ERROR")).params[0], /Server shutting down/);
  assert.equal((await server.child.done).code, 0);
});

Deno.test("serve keeps serving when its standard input (not a terminal) ends", async () => {
  await using server = await startServe();
  await server.child.closeStdin();
  await using ann = await IrcTestClient.register(server.port, "ann");
  await ann.send("PING :alive");
  await ann.waitFor("PONG");
});
