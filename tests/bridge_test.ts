/**
 * The bridge (`serve --local-room`): real `shmooze local` processes in a real shared-memory
 * room and real IRC clients on TCP, through a real `shmooze serve` process.
 */
import assert from "node:assert/strict";
import { objectName } from "../src/ipc/names.ts";
import { StatusBoard } from "../src/ipc/status_board.ts";
import { localNick } from "../src/bridge/room_protocol.ts";
import type { MonitorSnapshot } from "../src/web/monitor_snapshot.ts";
import {
  assertNoLeftovers,
  type Child,
  leftovers,
  spawn,
  uniqueName,
  waitUntil,
} from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";

/** A `serve --local-room` child with its ports. */
interface Bridged {
  child: Child;
  room: string;
  port: number;
  httpPort: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `serve` bridging a fresh room (status board and HTTP on), waits until it bridges. */
async function startBridged(label: string): Promise<Bridged> {
  const room = uniqueName(label);
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-bridge-test-" });
  const child = spawn([
    "main.ts",
    "serve",
    ...["--host", "127.0.0.1", "--port", "0", "--http-port", "0", "--data", dataDir],
    ...["--local-room", room],
  ]);
  const dispose = async () => {
    await child[Symbol.asyncDispose]();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const port = Number((await child.waitForLine(/^listening on /, 20_000)).split(":").pop());
    await child.waitForLine(`bridging local room ${room} with #lobby`);
    const httpPort = Number((await child.waitForLine(/^http on /)).split(":").pop());
    return { child, room, port, httpPort, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Starts `shmooze local` in a room and waits until it is in. */
async function startLocal(room: string, name: string): Promise<Child> {
  const child = spawn(["main.ts", "local", "--room", room, "--name", name]);
  await child.waitForLine(`joined room ${room} as ${name}`);
  return child;
}

/** Stops `serve` with SIGTERM and waits for it to exit. */
async function stopServe(serve: Bridged): Promise<void> {
  serve.child.process.kill("SIGTERM");
  const { code, stderr } = await serve.child.done;
  assert.equal(code, 0, stderr);
}

/** Lines of a local process's output that contain `text`. */
function linesWith(child: Child, text: string): string[] {
  return child.lines.filter((line) => line.includes(text));
}

Deno.test("bridge relays channel messages both ways, once each, into history", async () => {
  await using serve = await startBridged("bridge-channel");
  await using bob = await IrcTestClient.register(serve.port, "bob", {
    caps: ["batch", "draft/chathistory", "message-tags", "server-time"],
  });
  await bob.join("#lobby");
  await using ann = await startLocal(serve.room, "ann");
  await using carl = await startLocal(serve.room, "carl");
  await bob.waitFor(/^\S+ :ann\|local!shm@local JOIN #lobby$/);
  await bob.waitFor(/:carl\|local!shm@local JOIN #lobby$/);

  await ann.writeLine("hello from shared memory");
  await bob.waitFor(/:ann\|local!\S+ PRIVMSG #lobby :hello from shared memory$/);
  await carl.waitForLine(/\] <ann> hello from shared memory$/);

  await bob.send("PRIVMSG #lobby :hello from tcp");
  await ann.waitForLine(/\] <bob@irc> hello from tcp$/);
  await carl.waitForLine(/\] <bob@irc> hello from tcp$/);

  // A last message each way: once it arrived, anything relayed twice would have too. One
  // after the other, so history has them in a known order.
  await ann.writeLine("ann done");
  await bob.waitFor(/PRIVMSG #lobby :ann done$/);
  await bob.send("PRIVMSG #lobby :bob done");
  await ann.waitForLine("<bob@irc> bob done");
  await carl.waitForLine("<ann> ann done");
  await carl.waitForLine("<bob@irc> bob done");
  const bobGot = (text: string) => bob.lines.filter((m) => m.line.endsWith(`:${text}`)).length;
  assert.equal(bobGot("hello from shared memory"), 1);
  assert.equal(bobGot("hello from tcp"), 0, "bob's own message came back to him");
  assert.deepEqual(linesWith(ann, "hello from shared memory"), [], "ann got her own message");
  assert.equal(linesWith(ann, "hello from tcp").length, 1);
  assert.equal(linesWith(carl, "hello from shared memory").length, 1);
  assert.equal(linesWith(carl, "hello from tcp").length, 1);
  assert.deepEqual(linesWith(carl, "ann|local"), [], "the room got ann's message back from irc");

  await bob.send("CHATHISTORY LATEST #lobby * 10");
  await bob.waitFor((m) => m.command === "BATCH" && m.params[1] === "chathistory");
  const history: string[] = [];
  while (true) {
    const m = await bob.waitFor((m) => m.command === "PRIVMSG" || m.command === "BATCH");
    if (m.command === "BATCH") break;
    history.push(`${m.source?.split("!")[0]}: ${m.params[1]}`);
  }
  assert.deepEqual(history, [
    "ann|local: hello from shared memory",
    "bob: hello from tcp",
    "ann|local: ann done",
    "bob: bob done",
  ]);

  await ann.writeLine("/quit");
  await bob.waitFor(/^\S+ :ann\|local!shm@local QUIT :Left the local room$/);
  await carl.closeStdin();
  await bob.waitFor(/:carl\|local!\S+ QUIT /);
  assert.equal((await ann.done).code, 0);
  assert.equal((await carl.done).code, 0);
  await stopServe(serve);
  assertNoLeftovers(objectName("room", serve.room));
});

Deno.test("bridge carries private messages both ways", async () => {
  await using serve = await startBridged("bridge-private");
  await using ann = await startLocal(serve.room, "ann");
  await using carl = await startLocal(serve.room, "carl");
  await using bob = await IrcTestClient.register(serve.port, "bob");

  await bob.send("PRIVMSG ann|local :for ann only");
  await ann.waitForLine(/\] \*bob@irc\* \(private\) for ann only$/);

  await ann.writeLine("/msg bob psst, bob");
  await bob.waitFor(/^:ann\|local!shm@local PRIVMSG bob :psst, bob$/);
  await ann.writeLine("/msg bob@irc the displayed name works too");
  await bob.waitFor(/PRIVMSG bob :the displayed name works too$/);

  await ann.writeLine("/msg nobody hello?");
  await ann.waitForLine(/\] \*irc\* \(private\) nobody called nobody is on the network$/);
  // A room participant still gets a private message directly, not through the network.
  await ann.writeLine("/msg carl in the room");
  await carl.waitForLine(/\] \*ann\* \(private\) in the room$/);

  await carl.writeLine("carl done");
  await bob.send("PRIVMSG ann|local :bob done");
  await ann.waitForLine("*bob@irc* (private) bob done");
  await ann.waitForLine("<carl> carl done");
  assert.deepEqual(linesWith(carl, "for ann only"), [], "a private message reached carl");
  assert.deepEqual(linesWith(carl, "psst"), []);
  assert.equal(linesWith(ann, "for ann only").length, 1);
  assert.equal(bob.lines.filter((m) => m.line.endsWith(":psst, bob")).length, 1);
  await stopServe(serve);
});

Deno.test("a network user can neither take a departed local participant's nick nor read her private history", async () => {
  await using serve = await startBridged("bridge-private-history");
  await using ann = await startLocal(serve.room, "ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await bob.send("REGISTER * * :correct horse battery");
  await bob.waitFor("900");
  await bob.join("#lobby");
  await bob.send("PRIVMSG ann|local :for ann only");
  await ann.waitForLine(/\] \*bob@irc\* \(private\) for ann only$/);
  await ann.writeLine("/msg bob psst, bob");
  await bob.waitFor(/^:ann\|local!shm@local PRIVMSG bob :psst, bob$/);
  await ann.writeLine("/quit");
  await bob.waitFor(/^:ann\|local!shm@local QUIT /);
  assert.equal((await ann.done).code, 0);

  // A |local nick is the bridge's alone: eve cannot take ann's.
  await using eve = await IrcTestClient.connect(serve.port);
  await eve.send("NICK ann|local");
  await eve.waitFor("432");
  await eve.register("eve");
  await eve.send("REGISTER * * :another long password");
  await eve.waitFor("900");
  const stolen = await eve.reply("CHATHISTORY LATEST bob * 10");
  assert.deepEqual(stolen.map((m) => m.params.slice(0, 2)), [["CHATHISTORY", "NO_MESSAGES"]]);
  const window = "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z";
  const targets = await eve.reply(`CHATHISTORY TARGETS ${window} 10`);
  assert.ok(!targets.some((m) => m.command === "CHATHISTORY"), "eve sees whom ann talked with");
  // What ann and bob said is bob's account's, and bob still reads it.
  const his = await bob.reply("CHATHISTORY LATEST ann|local * 10");
  assert.deepEqual(his.filter((m) => m.command === "PRIVMSG").map((m) => m.params[1]), [
    "for ann only",
    "psst, bob",
  ]);
  await stopServe(serve);
});

Deno.test("bridge shows network joins and /me in the room and splits long local lines", async () => {
  await using serve = await startBridged("bridge-events");
  await using ann = await startLocal(serve.room, "ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await bob.join("#lobby");
  await ann.waitForLine(/\] <irc> \* bob joined #lobby$/);
  await bob.send("PRIVMSG #lobby :\x01ACTION waves\x01");
  await ann.waitForLine(/\] <irc> \* bob waves$/);

  const long = "x".repeat(1000);
  await ann.writeLine(long);
  const pieces = await bob.waitForMany(/:ann\|local!\S+ PRIVMSG #lobby :x+$/, 3);
  for (const piece of pieces) assert.ok(new TextEncoder().encode(piece.line).length + 2 <= 512);
  assert.equal(pieces.map((piece) => piece.params[1]).join(""), long);

  await bob.send("PART #lobby :gone");
  await ann.waitForLine(/\] <irc> \* bob left #lobby \(gone\)$/);
  assert.equal(linesWith(ann, "bob joined").length, 1);
  await stopServe(serve);
});

Deno.test("bridge shows a killed local participant quit and counts local users", async () => {
  await using serve = await startBridged("bridge-reap");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await bob.join("#lobby");
  await using ann = await startLocal(serve.room, "ann");
  await using dan = await startLocal(serve.room, "dan");
  await bob.waitFor(/:dan\|local!\S+ JOIN #lobby$/);

  await waitUntil(
    () => StatusBoard.read(serve.port).clientsByTransport?.local === 2,
    5000,
    "the status board to count two local users",
  );
  const stats = async () =>
    (await (await fetch(`http://127.0.0.1:${serve.httpPort}/api/stats`)).json()) as MonitorSnapshot;
  const snapshot = await stats();
  assert.equal(snapshot.clientsByTransport.local, 2);
  assert.equal(snapshot.clientsByTransport.tcp, 1);
  const room = snapshot.localRoom!;
  assert.equal(room.room, serve.room);
  assert.equal(room.channel, "#lobby");
  assert.equal(room.capacity, 256);
  assert.deepEqual(room.participants.toSorted(), ["ann", "dan", "irc"]);
  assert.ok(room.used >= 3 && room.writeSeq >= 3, `ring: ${JSON.stringify(room)}`);

  dan.process.kill("SIGKILL");
  await dan.done;
  // Nobody says goodbye for a killed process: a heartbeat finds it dead and reaps it.
  await bob.waitFor(/^:dan\|local!shm@local QUIT /, 10_000);
  await ann.waitForLine(/\] \* dan left$/);
  await waitUntil(
    () => StatusBoard.read(serve.port).clientsByTransport?.local === 1,
    5000,
    "the status board to count one local user",
  );
  assert.deepEqual((await stats()).localRoom!.participants.toSorted(), ["ann", "irc"]);
  await stopServe(serve);
});

Deno.test("an operator kick drops a local user from the channel until it speaks again", async () => {
  await using serve = await startBridged("bridge-kick");
  await using ann = await startLocal(serve.room, "ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await bob.join("#lobby");
  await serve.child.writeLine("/kick ann|local testing");
  await bob.waitFor(/^:ann\|local!shm@local QUIT :Kicked by operator: testing$/);
  await ann.waitForLine(
    "*irc* (private) you were disconnected from #lobby (Kicked by operator: testing); what you say next brings you back",
  );
  await ann.writeLine("back again");
  await bob.waitFor(/^:ann\|local!shm@local JOIN #lobby$/);
  await bob.waitFor(/^:ann\|local!shm@local PRIVMSG #lobby :back again$/);
  await ann.closeStdin();
  assert.equal((await ann.done).code, 0);
  await stopServe(serve);
  assertNoLeftovers(objectName("room", serve.room));
});

Deno.test("serve shutdown takes the bridge out of the room and leaves no OS objects", async () => {
  await using serve = await startBridged("bridge-shutdown");
  await using ann = await startLocal(serve.room, "ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await bob.join("#lobby");
  await ann.writeLine("still here");
  await bob.waitFor(/PRIVMSG #lobby :still here$/);

  await stopServe(serve);
  await bob.waitFor(/:ann\|local!\S+ QUIT :Bridge to the local room closed$/);
  await bob.waitFor("ERROR");
  await ann.waitForLine(/\] \* irc left$/);
  // ann is the last one in: the room lives until she leaves.
  await ann.writeLine("/quit");
  assert.equal((await ann.done).code, 0);
  assertNoLeftovers(objectName("room", serve.room));
});

Deno.test("serve alone in its bridged room removes the room when it stops", async () => {
  await using serve = await startBridged("bridge-alone");
  const segment = objectName("room", serve.room);
  assert.deepEqual(leftovers(segment), [segment], "serve made no room segment");
  // A SIGTERM right after serve's last line can beat its signal handler: talk to it first.
  await using probe = await IrcTestClient.register(serve.port, "probe");
  await stopServe(serve);
  await probe.waitFor("ERROR");
  assertNoLeftovers(objectName("room", serve.room));
});

Deno.test("serve refuses a bad bridge channel, a channel without a room and a taken name", async () => {
  const run = (...args: string[]) =>
    spawn(["main.ts", "serve", "--host", "127.0.0.1", "--port", "0", "--no-http", ...args]).done;
  const badChannel = await run("--no-status", "--local-room", "x", "--bridge-channel", "lobby");
  assert.equal(badChannel.code, 2);
  assert.match(badChannel.stderr, /--bridge-channel "lobby": a channel name is #/);
  const noRoom = await run("--no-status", "--bridge-channel", "#lobby");
  assert.equal(noRoom.code, 2);
  assert.match(noRoom.stderr, /--bridge-channel needs --local-room/);

  const room = uniqueName("bridge-taken");
  await using impostor = await startLocal(room, "irc");
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-bridge-test-" });
  try {
    const taken = await run("--no-status", "--data", dataDir, "--local-room", room);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      new RegExp(`Cannot join room "${room}" as "irc": a participant of that name is in it`),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  await impostor.writeLine("/quit");
  await impostor.done;
  assertNoLeftovers(objectName("room", room));
});

Deno.test("localNick() marks room names as local and keeps them valid IRC nicks", () => {
  const free = () => true;
  assert.equal(localNick("ann", 32, free), "ann|local");
  assert.equal(localNick("jo.é", 32, free), "jo__|local");
  assert.equal(localNick("-x", 32, free), "_-x|local");
  const long = "a".repeat(32);
  assert.equal(localNick(long, 32, free), `${"a".repeat(26)}|local`);
  assert.equal(localNick(long, 32, (nick) => !nick.endsWith("|local")), `${"a".repeat(25)}|local2`);
  assert.equal(localNick("ann", 32, () => false), undefined);
  const pattern = /^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*$/;
  for (const name of ["ann", "9lives", "x.y", "ünï", "a|b", "[x]"]) {
    assert.match(localNick(name, 32, free)!, pattern);
  }
});
