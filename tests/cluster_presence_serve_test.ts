/**
 * One account's presence across `shmooze serve --cluster` processes, with IRC clients on real
 * sockets and a real `nats-server -js`: devices of one account through different nodes are one
 * user (each gets every line once, and the others' sent lines), the user stays while any
 * device on any node is left (a closed device, a node killed with SIGKILL), and an always-on
 * account stays in its channels on every node with no device, also after a node restarts.
 */
import assert from "node:assert/strict";
import { connectDevice, registeredUser } from "./_accounts.ts";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";

const CAPS = ["away-notify", "message-tags", "echo-message"];

/** Whether a line is `command` from `nick`. */
function is(command: string, nick: string): (m: Received) => boolean {
  return (m) => m.command === command && m.source?.startsWith(`${nick}!`) === true;
}

/** Lines a client received that are `command` from ann. */
function fromAnn(client: IrcTestClient, command: string): Received[] {
  return client.lines.filter((m) => m.command === command && m.source?.startsWith("ann!"));
}

/** How many PRIVMSGs with `text` a client received. */
function count(client: IrcTestClient, text: string): number {
  return client.lines.filter((m) => m.command === "PRIVMSG" && m.params.at(-1) === text).length;
}

/** The nicks in a channel, as a client is told (NAMES). */
async function names(client: IrcTestClient, channel: string): Promise<string[]> {
  const reply = await client.reply(`NAMES ${channel}`);
  return reply.filter((m) => m.command === "353").flatMap((m) => m.params.at(-1)!.split(" "))
    .map((nick) => nick.replace(/^[@+]/, ""));
}

/** Sends a line to #c from `sender` and waits until each of `observers` has it. */
async function probe(
  sender: IrcTestClient,
  text: string,
  observers: IrcTestClient[],
): Promise<void> {
  await sender.send(`PRIVMSG #c :${text}`);
  for (const observer of observers) {
    await observer.waitFor((m) => m.command === "PRIVMSG" && m.params.at(-1) === text);
  }
}

Deno.test({
  name:
    "serve --cluster: devices of one account through two nodes are one user, which stays while any device (or always-on) is left",
  ignore: !natsAvailable(),
  async fn(t) {
    await using nats = await startNats();
    const cluster = `pre${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const args = (node: string) => [
      "--cluster",
      nats.url,
      "--cluster-name",
      cluster,
      "--node-name",
      node,
    ];
    // Node b keeps its data directory across its restart.
    const bDir = await Deno.makeTempDir({ prefix: "shmooze-cluster-presence-test-" });
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    const client = <T extends IrcTestClient>(made: T) => (clients.push(made), made);
    try {
      servers.push(await startServe({ args: args("a"), timeoutMs: 120_000 }));
      servers.push(await startServe({ args: args("b"), dataDir: bDir, timeoutMs: 120_000 }));
      servers.push(await startServe({ args: args("c"), timeoutMs: 120_000 }));
      const [a, b, c] = servers.map((server) => server.port);
      const cat = client(await IrcTestClient.register(a, "cat", { caps: CAPS }));
      const dan = client(await IrcTestClient.register(b, "dan", { caps: CAPS }));
      const eve = client(await IrcTestClient.register(c, "eve", { caps: CAPS }));
      for (const observer of [cat, dan, eve]) await observer.join("#c");
      const onA = client(await registeredUser(a, "ann", { caps: CAPS }));
      await onA.join("#c");
      await eve.waitFor(is("JOIN", "ann"));

      const onC = client((await connectDevice(c, "ann", { nick: "ann_phone", caps: CAPS })).client);
      await t.step("a device of ann through C joins her presence, in her channels", async () => {
        assert.equal(onC.nick, "ann");
        // Its burst: the user's channels, as if just joined.
        await onC.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
        await onC.waitFor("366");
        assert.deepEqual((await names(eve, "#c")).filter((nick) => nick.startsWith("ann")), [
          "ann",
        ]);
        assert.equal(fromAnn(eve, "JOIN").length, 1, "no second JOIN for the second device");
      });

      await t.step("both devices get a channel message and each other's lines once", async () => {
        await dan.send("PRIVMSG #c :hello ann");
        await dan.send("PRIVMSG ann :psst");
        await onA.send("PRIVMSG #c :from A");
        await onC.send("PRIVMSG #c :from C");
        // Lines from one node's connection are in the log in the order sent: after the end
        // marker, every line before it is there.
        await probe(dan, "end 1", [onA, onC]);
        await probe(onA, "end A", [onC, eve]);
        await probe(onC, "end C", [onA, cat]);
        for (const device of [onA, onC]) {
          for (const text of ["hello ann", "psst", "from A", "from C"]) {
            assert.equal(count(device, text), 1, `${text} once on ${device === onA ? "A" : "C"}`);
          }
        }
        for (const observer of [cat, dan, eve]) {
          assert.equal(count(observer, "from A"), 1);
          assert.equal(count(observer, "from C"), 1);
        }
      });

      await t.step("closing the device on A keeps ann present through C", async () => {
        await onA.send("QUIT :phone is enough");
        await onA.closed;
        // Its quit went into the log before cat's line (one connection of node a).
        await probe(cat, "after A left", [onC, dan, eve]);
        for (const observer of [cat, dan, eve]) assert.deepEqual(fromAnn(observer, "QUIT"), []);
        const whois = await cat.reply("WHOIS ann");
        assert.ok(whois.some((m) => m.command === "311"), "ann is still there for node a");
        assert.ok((await names(dan, "#c")).includes("ann"));
      });

      const again = client((await connectDevice(a, "ann", { caps: CAPS })).client);
      await t.step("kill -9 of node c leaves ann present through A", async () => {
        await again.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
        servers[2].child.process.kill("SIGKILL");
        // Node c is declared gone: eve quits; ann's device there leaves in the same entry.
        await cat.waitFor(is("QUIT", "eve"), 15_000);
        await dan.waitFor(is("QUIT", "eve"), 15_000);
        await probe(dan, "after c died", [again, cat]);
        for (const observer of [cat, dan, again]) assert.deepEqual(fromAnn(observer, "QUIT"), []);
        assert.ok((await names(cat, "#c")).includes("ann"));
        assert.ok((await names(dan, "#c")).includes("ann"));
      });

      await t.step("always-on through A: ann stays in #c after both devices left", async () => {
        await again.send("NICKSERV SET ALWAYS-ON ON");
        const answer = await again.waitFor((m) => m.command === "NOTICE");
        assert.match(answer.params[1], /^Always-on is on for ann/);
        const onB = client((await connectDevice(b, "ann", { caps: CAPS })).client);
        await onB.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
        await again.send("QUIT :off to bed");
        await onB.send("QUIT :off to bed");
        await Promise.all([again.closed, onB.closed]);
        await probe(cat, "after both left (a)", [dan]);
        await probe(dan, "after both left (b)", [cat]);
        // Marked away with no device, and still in #c, on both nodes.
        for (const observer of [cat, dan]) {
          assert.equal(fromAnn(observer, "AWAY").length, 1);
          assert.deepEqual(fromAnn(observer, "QUIT"), []);
          assert.ok((await names(observer, "#c")).includes("ann"));
        }
      });

      await t.step(
        "a restarted node b holds always-on ann in #c, and her device there",
        async () => {
          await servers[1][Symbol.asyncDispose]();
          await cat.waitFor(is("QUIT", "dan"), 15_000);
          servers[1] = await startServe({ args: args("b"), dataDir: bDir, timeoutMs: 120_000 });
          const viewer = client(await IrcTestClient.register(servers[1].port, "viewer", {}));
          const onNew = await names(viewer, "#c");
          assert.ok(onNew.includes("ann"), `ann is in #c on the new node: ${onNew.join(" ")}`);
          assert.deepEqual(fromAnn(cat, "QUIT"), [], "node a did not lose her either");
          const whois = await viewer.reply("WHOIS ann");
          assert.match(whois.find((m) => m.command === "301")?.params.at(-1) ?? "", /always-on/);
          // A device through the new node attaches to the same presence: node a sees her back.
          const onNewB = client(
            (await connectDevice(servers[1].port, "ann", { caps: CAPS })).client,
          );
          await onNewB.waitFor((m) => m.command === "JOIN" && m.params[0] === "#c");
          await cat.waitFor((m) =>
            m.command === "AWAY" && m.source?.startsWith("ann!") === true && m.params.length === 0
          );
          await probe(cat, "welcome back", [onNewB]);
        },
      );
    } finally {
      for (const made of clients) await made.close();
      for (const server of servers) await server[Symbol.asyncDispose]();
      await Deno.remove(bDir, { recursive: true }).catch(() => {});
    }
  },
});
