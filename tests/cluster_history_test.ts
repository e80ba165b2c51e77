/**
 * `serve --cluster … --history postgres://…`: three real `serve` processes, a real
 * `nats-server -js` and a throwaway PostgreSQL, IRC clients on real sockets. Every message of the
 * log is in CHATHISTORY on every node, once, in the log's order — also those a node killed with
 * SIGKILL echoed, and those sent while PostgreSQL was stopped.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, type ServeProcess, startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { postgresAvailable, startPostgres } from "./_postgres.ts";

const CAPS = ["message-tags", "echo-message", "server-time", "batch", "draft/chathistory"];
/** A message of #lobby as it was said (not one played back from history, in a batch). */
const isChat = (m: Received) =>
  m.command === "PRIVMSG" && m.params[0] === "#lobby" && m.tags.batch === undefined;

/**
 * Every message of #lobby in a node's CHATHISTORY, oldest first, paging back 100 at a time; a
 * FAIL ends it (what was read so far is returned, and the FAIL).
 */
async function history(client: IrcTestClient): Promise<{ ids: string[]; failed?: Received }> {
  const ids: string[] = [];
  let before = "*";
  for (;;) {
    const lines = await client.reply(
      before === "*"
        ? "CHATHISTORY LATEST #lobby * 100"
        : `CHATHISTORY BEFORE #lobby msgid=${before} 100`,
    );
    const failed = lines.find((m) => m.command === "FAIL");
    if (failed) return { ids, failed };
    // Only the batch's lines: live messages the client had not looked at come before it.
    const page = lines.filter((m) => m.command === "PRIVMSG" && m.tags.batch !== undefined)
      .map((m) => m.tags.msgid!);
    ids.unshift(...page);
    if (page.length < 100) return { ids };
    before = page[0];
  }
}

/**
 * Reads a node's history until it is `want` (the archiver writes behind the chat), within a
 * bounded time; each try is a real round trip, with a short pause between tries.
 */
async function historyBecomes(client: IrcTestClient, want: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let got = await history(client);
  while (!sameList(got.ids, want) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    got = await history(client);
  }
  assert.equal(got.failed, undefined, `${client.nick}: ${got.failed?.line}`);
  const missing = want.filter((id) => !got.ids.includes(id));
  assert.deepEqual(missing, [], `${client.nick}: missing from history`);
  assert.equal(new Set(got.ids).size, got.ids.length, `${client.nick}: a message twice`);
  assert.deepEqual(got.ids, want, `${client.nick}: history is not in the log's order`);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

Deno.test({
  name:
    "serve --cluster --history postgres: CHATHISTORY on every node has every message once, in order, through a kill -9 of a node, a PostgreSQL outage, and the death of every node while it is away",
  ignore: !natsAvailable() || !postgresAvailable(),
  async fn(t) {
    await using nats = await startNats();
    await using pg = await startPostgres();
    const cluster = `hist${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    const servers: ServeProcess[] = [];
    const clients: IrcTestClient[] = [];
    try {
      for (const node of ["a", "b", "c"]) {
        servers.push(
          await startServe({
            args: [
              "--cluster",
              nats.url,
              "--cluster-name",
              cluster,
              "--node-name",
              node,
              "--history",
              pg.url,
              "--flood-burst",
              "0",
              "--history-budget",
              "100000",
            ],
            timeoutMs: 120_000,
          }),
        );
      }
      for (const [i, nick] of ["ann", "bob", "cat"].entries()) {
        clients.push(await IrcTestClient.register(servers[i].port, nick, { caps: CAPS }));
      }
      const [ann, bob, cat] = clients;
      for (const client of clients) await client.join("#lobby");
      await ann.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);
      await bob.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("cat!") === true);
      /** Every message of #lobby ann was shown (echoes included): the log's order. */
      const seenByAnn = () => ann.lines.filter(isChat).map((m) => m.tags.msgid!);

      await t.step(
        "messages sent through A, B and C are in CHATHISTORY on A, B and C",
        async () => {
          const perNode = 40;
          await Promise.all(clients.map((client) =>
            client.send(
              Array.from({ length: perNode }, (_, n) => `PRIVMSG #lobby :${client.nick} ${n}`)
                .join("\r\n"),
            )
          ));
          const all = await ann.waitForMany(isChat, perNode * 3, 60_000);
          const order = all.map((m) => m.tags.msgid!);
          for (const client of clients) await historyBecomes(client, order);
        },
      );

      await t.step("a pipelined CHATHISTORY, PING, CHATHISTORY is answered in order", async () => {
        await cat.send(
          "CHATHISTORY LATEST #lobby * 50\r\nPING first\r\nCHATHISTORY LATEST #lobby * 3\r\nPING second",
        );
        const from = cat.lines.length;
        await cat.waitFor((m) => m.command === "PONG" && m.params.at(-1) === "second");
        const shape = cat.lines.slice(from).map((m) =>
          m.command === "BATCH"
            ? `BATCH${m.params[0][0]}`
            : m.command === "PONG"
            ? `PONG ${m.params.at(-1)}`
            : m.command
        );
        assert.deepEqual(shape, [
          "BATCH+",
          ...Array(50).fill("PRIVMSG"),
          "BATCH-",
          "PONG first",
          "BATCH+",
          ...Array(3).fill("PRIVMSG"),
          "BATCH-",
          "PONG second",
        ]);
      });

      await t.step(
        "kill -9 of node B mid-traffic: what bob was echoed is in CHATHISTORY on A and C",
        async () => {
          await bob.send(
            Array.from({ length: 200 }, (_, n) => `PRIVMSG #lobby :last words ${n}`).join("\r\n"),
          );
          await bob.waitFor((m) => isChat(m) && m.params[1] === "last words 20");
          servers[1].child.process.kill("SIGKILL");
          await bob.closed;
          const echoed = bob.lines.filter((m) => isChat(m) && m.source?.startsWith("bob!"))
            .map((m) => m.tags.msgid!);
          await ann.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("bob!") === true);
          // Everything ann was shown, bob's last words included, and nothing else.
          const shown = seenByAnn();
          assert.deepEqual(echoed.filter((id) => !shown.includes(id)), []);
          await historyBecomes(ann, shown);
          await historyBecomes(cat, shown);
        },
      );

      await t.step(
        "PostgreSQL stopped for 10 s under traffic: chat goes on, then history has every message once",
        async () => {
          await pg.stop();
          const stoppedAt = Date.now();
          let sent = 0;
          let refused: Received | undefined;
          // One message a 100 ms from each of ann and cat for the outage's 10 s (timed: the
          // outage is the subject), each echoed before the next.
          while (Date.now() - stoppedAt < 10_000) {
            for (const client of [ann, cat]) {
              const text = `during outage ${sent++}`;
              await client.send(`PRIVMSG #lobby :${text}`);
              await client.waitFor((m) => isChat(m) && m.params[1] === text, 5000);
            }
            if (refused === undefined && Date.now() - stoppedAt > 1000) {
              refused = (await cat.reply("CHATHISTORY LATEST #lobby * 10"))
                .find((m) => m.command === "FAIL");
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.ok(sent >= 20, `only ${sent} messages in 10 s`);
          assert.match(
            refused?.line ?? "no FAIL",
            / FAIL CHATHISTORY MESSAGE_ERROR LATEST #lobby /,
          );
          assert.deepEqual(
            [ann, cat].flatMap((c) => c.lines.filter((m) => m.command === "FAIL"))
              .filter((m) => m.params[0] !== "CHATHISTORY"),
            [],
            "a message was refused while PostgreSQL was away",
          );
          await pg.restart();
          const back = Date.now();
          const shown = seenByAnn();
          // Complete within 5 s of its return on both nodes: the archiver tries again at least
          // every 2 s, and CHATHISTORY connects again at once.
          await historyBecomes(ann, shown, 5000);
          await historyBecomes(cat, shown, Math.max(1, back + 5000 - Date.now()));
          console.log(
            `${sent} messages during the outage; history complete on A and C ${
              Date.now() - back
            } ms after PostgreSQL was back`,
          );
        },
      );

      await t.step(
        "every node gone while PostgreSQL is away (one killed, one stopped): a node started later archives the rest from the log",
        async () => {
          await pg.stop();
          await ann.send(
            Array.from({ length: 20 }, (_, n) => `PRIVMSG #lobby :unarchived ${n}`).join("\r\n"),
          );
          await ann.waitFor((m) => isChat(m) && m.params[1] === "unarchived 19");
          await cat.waitFor((m) => isChat(m) && m.params[1] === "unarchived 19");
          // No node that applied them is left to write them. C stops cleanly, and a node that
          // stops leaves a snapshot — but not past what its archiver has not stored, or a node
          // started from it would never be given those messages.
          servers[0].child.process.kill("SIGKILL");
          servers[2].child.process.kill("SIGTERM");
          assert.equal((await servers[2].child.done).code, 0);
          await Promise.all([ann.closed, cat.closed]);
          await pg.restart();
          servers.push(
            await startServe({
              args: [
                "--cluster",
                nats.url,
                "--cluster-name",
                cluster,
                "--node-name",
                "d",
                "--history",
                pg.url,
                "--history-budget",
                "100000",
              ],
              timeoutMs: 120_000,
            }),
          );
          const dan = await IrcTestClient.register(servers[3].port, "dan", { caps: CAPS });
          clients.push(dan);
          await dan.join("#lobby");
          await historyBecomes(dan, seenByAnn());
        },
      );
    } finally {
      for (const client of clients) await client.close();
      for (const server of servers) await server[Symbol.asyncDispose]();
    }
  },
});

Deno.test("serve refuses --history without --cluster, and a --history that is no PostgreSQL URL", async () => {
  for (
    const [args, pattern] of [
      [["--history", "postgres://u@127.0.0.1/db"], /--history needs --cluster/],
      [
        ["--cluster", "nats://127.0.0.1:1", "--history", "mysql://db"],
        /--history must be a PostgreSQL URL/,
      ],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "main.ts", "serve", "--no-http", "--no-status", ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    assert.equal(output.code, 2, stderr);
    assert.match(stderr.split("\n")[0], pattern);
  }
});
