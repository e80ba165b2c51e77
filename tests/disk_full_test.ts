/**
 * Acknowledged means stored: with the disk full, a message is echoed and relayed only if
 * history committed it; the others get `FAIL … TEMPORARILY_UNAVAILABLE` and nobody sees them.
 *
 * The full disk is real: a small tmpfs mounted for the test (Linux, root), filled to the
 * last byte with a file.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { canMount, fill, mountTmpfs, unmount } from "./_disk.ts";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";

const isPrivmsg = (text: string) => (m: Received) =>
  m.command === "PRIVMSG" && m.params[1] === text;

Deno.test({
  name:
    "serve echoes and relays only what history stored when the disk is full, and says FAIL for the rest",
  ignore: !canMount,
  async fn() {
    const mount = mountTmpfs("2m")!;
    try {
      const dataDir = join(mount, "data");
      await using server = await startServe({
        dataDir,
        http: true,
        args: ["--flood-burst", "0"],
      });
      const caps = ["echo-message", "message-tags", "server-time", "batch", "draft/chathistory"];
      await using ann = await IrcTestClient.register(server.port, "ann", { caps });
      await using bob = await IrcTestClient.register(server.port, "bob", { caps });
      await ann.join("#lobby");
      await bob.join("#lobby");
      await ann.send("PRIVMSG #lobby :before");
      await ann.waitFor(isPrivmsg("before"));
      await bob.waitFor(isPrivmsg("before"));

      // Room for some of the messages: the rest find the disk full.
      await fill(join(mount, "filler"), 256 * 1024);
      const count = 400;
      const text = (i: number) => `full ${i} ${"y".repeat(300)}`;
      const answered = (i: number) => (m: Received) =>
        (m.command === "PRIVMSG" && m.params[1] === text(i)) ||
        (m.command === "FAIL" && m.params[0] === "PRIVMSG");
      const echoed: string[] = [];
      let failed = 0;
      for (let i = 0; i < count; i++) {
        // One at a time, each answered before the next, so every answer is matched.
        await ann.send(`PRIVMSG #lobby :${text(i)}`);
        const answer = await ann.waitFor(answered(i), 10_000);
        if (answer.command === "FAIL") {
          assert.deepEqual(answer.params.slice(0, 3), [
            "PRIVMSG",
            "TEMPORARILY_UNAVAILABLE",
            "#lobby",
          ]);
          failed++;
        } else {
          echoed.push(answer.params[1]);
        }
      }
      assert.ok(failed > 0, `the disk never filled up (${echoed.length} echoed)`);
      assert.ok(echoed.length > 0, "nothing was stored before the disk filled up");
      console.log(`disk full: ${echoed.length} of ${count} echoed (and stored), ${failed} refused`);

      // Room again: the server recovers without a restart.
      await Deno.remove(join(mount, "filler"));
      await ann.send("PRIVMSG #lobby :after");
      await ann.waitFor(isPrivmsg("after"), 10_000);
      await bob.waitFor(isPrivmsg("after"), 10_000);

      // bob saw exactly what ann saw echoed, in order, and nothing that failed.
      const seen = bob.lines.filter((m) =>
        m.command === "PRIVMSG" && m.params[1].startsWith("full ")
      )
        .map((m) => m.params[1]);
      assert.deepEqual(seen, echoed);

      // The failures show in /metrics and in the log.
      const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      const unstored = Number(/^shmooze_messages_unstored_total (\d+)$/m.exec(metrics)?.[1]);
      assert.ok(unstored >= failed, `metrics show ${unstored} unstored, ${failed} failed`);
      await ann.send("QUIT");
      await bob.send("QUIT");
      await server[Symbol.asyncDispose]();
      const { stderr } = await server.child.done;
      assert.match(stderr, /History could not store/);

      // Everything echoed is in history, once.
      const db = new DatabaseSync(join(dataDir, "history.sqlite"), { readOnly: true });
      try {
        const stored = db.prepare("SELECT text FROM messages WHERE text LIKE 'full %' ORDER BY id")
          .all().map((row) => row.text);
        assert.deepEqual(stored, echoed);
      } finally {
        db.close();
      }
    } finally {
      unmount(mount);
    }
  },
});

Deno.test({
  name: "serve refuses a private message it cannot store, and the recipient never sees it",
  ignore: !canMount,
  async fn() {
    const mount = mountTmpfs("2m")!;
    try {
      await using server = await startServe({
        dataDir: join(mount, "data"),
        args: ["--flood-burst", "0"],
      });
      await using ann = await IrcTestClient.register(server.port, "ann", {
        caps: ["echo-message"],
      });
      await using bob = await IrcTestClient.register(server.port, "bob");
      await fill(join(mount, "filler"));
      let failedAt = -1;
      for (let i = 0; i < 400 && failedAt < 0; i++) {
        await ann.send(`PRIVMSG bob :secret ${i} ${"z".repeat(300)}`);
        const answer = await ann.waitFor(
          (m) =>
            m.command === "FAIL" ||
            (m.command === "PRIVMSG" && m.params[1].startsWith(`secret ${i} `)),
          10_000,
        );
        if (answer.command === "FAIL") {
          assert.deepEqual(answer.params.slice(0, 3), [
            "PRIVMSG",
            "TEMPORARILY_UNAVAILABLE",
            "bob",
          ]);
          failedAt = i;
        }
      }
      assert.ok(failedAt >= 0, "the disk never filled up");
      // A line after the failure shows bob got everything before it and not the failed one.
      await Deno.remove(join(mount, "filler"));
      await ann.send("PRIVMSG bob :done");
      await bob.waitFor(isPrivmsg("done"), 10_000);
      const received = bob.lines.filter((m) => m.command === "PRIVMSG" && m.params[1] !== "done")
        .map((m) => Number(m.params[1].split(" ")[1]));
      assert.deepEqual(received, Array.from({ length: failedAt }, (_, i) => i));
    } finally {
      unmount(mount);
    }
  },
});

Deno.test({
  name: "serve refuses a reaction it cannot store, and nobody sees it; typing still passes",
  ignore: !canMount,
  async fn() {
    const mount = mountTmpfs("2m")!;
    try {
      await using server = await startServe({
        dataDir: join(mount, "data"),
        args: ["--flood-burst", "0"],
      });
      const caps = ["echo-message", "message-tags"];
      await using ann = await IrcTestClient.register(server.port, "ann", { caps });
      await using bob = await IrcTestClient.register(server.port, "bob", { caps });
      await ann.join("#lobby");
      await bob.join("#lobby");
      await fill(join(mount, "filler"));
      let failedAt = -1;
      for (let i = 0; i < 400 && failedAt < 0; i++) {
        // A long reply tag makes each stored row big, so the disk fills up soon.
        await ann.send(`@+draft/react=${i};+draft/reply=${"r".repeat(1000)} TAGMSG #lobby`);
        const answer = await ann.waitFor(
          (m) =>
            (m.command === "FAIL" && m.params[0] === "TAGMSG") ||
            (m.command === "TAGMSG" && m.tags["+draft/react"] === String(i)),
          10_000,
        );
        if (answer.command === "FAIL") {
          assert.deepEqual(answer.params.slice(0, 3), [
            "TAGMSG",
            "TEMPORARILY_UNAVAILABLE",
            "#lobby",
          ]);
          failedAt = i;
        }
      }
      assert.ok(failedAt >= 0, "the disk never filled up");
      // Typing is never stored: it passes with the disk still full.
      await ann.send("@+typing=active TAGMSG #lobby");
      assert.equal(
        (await bob.waitFor((m) => m.tags["+typing"] !== undefined)).tags["+typing"],
        "active",
      );
      const reactions = bob.lines.filter((m) => m.tags["+draft/react"] !== undefined)
        .map((m) => Number(m.tags["+draft/react"]));
      assert.deepEqual(reactions, Array.from({ length: failedAt }, (_, i) => i));
    } finally {
      unmount(mount);
    }
  },
});
