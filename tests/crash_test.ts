import assert from "node:assert/strict";
import { objectName } from "../src/ipc/names.ts";
import { StatusBoard } from "../src/ipc/status_board.ts";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";

const ROUNDS = 5;
/** Acknowledged messages per round before the kill; the sender keeps going until it. */
const ACKS_BEFORE_KILL = 50;

/** Every message of a channel's history, oldest first, paging back with CHATHISTORY BEFORE. */
async function allHistory(client: IrcTestClient, channel: string): Promise<Received[]> {
  const all: Received[] = [];
  let anchor = "*";
  while (true) {
    await client.send(
      anchor === "*"
        ? `CHATHISTORY LATEST ${channel} * 100`
        : `CHATHISTORY BEFORE ${channel} ${anchor} 100`,
    );
    const start = await client.waitFor((m) =>
      (m.command === "BATCH" && m.params[0][0] === "+") || m.command === "FAIL"
    );
    assert.equal(start.command, "BATCH", start.line);
    const id = start.params[0].slice(1);
    const page: Received[] = [];
    for (
      let m = await client.waitFor(() => true);
      !(m.command === "BATCH" && m.params[0] === `-${id}`);
      m = await client.waitFor(() => true)
    ) {
      if (m.command === "PRIVMSG") page.push(m);
    }
    if (page.length === 0) return all;
    all.unshift(...page);
    anchor = `msgid=${page[0].tags.msgid}`;
  }
}

Deno.test("kill -9 in mid-traffic, five times: every acknowledged message is in history and the status board is reclaimed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-crash-test-" });
  const acknowledged = new Set<string>();
  let sent = 0;
  let port = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await using serve = await startServe({
        dataDir,
        status: true,
        args: ["--port", String(port), "--flood-burst", "0"],
      });
      port = serve.port;
      const board = StatusBoard.read(port);
      assert.equal(board.pid, serve.child.process.pid, `round ${round}: board of the new server`);
      assert.equal(board.stale, false);

      await using ann = await IrcTestClient.register(port, "ann", {
        caps: ["echo-message", "message-tags", "batch", "draft/chathistory", "server-time"],
      });
      await ann.join("#crash");
      if (round > 0) {
        const stored = new Set((await allHistory(ann, "#crash")).map((m) => m.params[1]));
        const lost = [...acknowledged].filter((text) => !stored.has(text));
        assert.deepEqual(lost, [], `round ${round}: acknowledged messages missing after kill -9`);
      }

      // Ten at a time, each echo an acknowledgement; then twenty more are in flight when
      // the kill comes.
      let next = 0;
      const say = async (count: number) => {
        for (let k = 0; k < count; k++) {
          await ann.send(`PRIVMSG #crash :round ${round} message ${next++}`);
          sent++;
        }
      };
      const isEcho = (m: Received) => m.command === "PRIVMSG" && m.params[0] === "#crash";
      while (next < ACKS_BEFORE_KILL) {
        await say(10);
        for (const echo of await ann.waitForMany(isEcho, 10)) acknowledged.add(echo.params[1]);
      }
      await say(20);
      serve.child.process.kill("SIGKILL");
      const { code } = await serve.child.done;
      assert.notEqual(code, 0);
      // Echoes that arrived before the connection dropped were acknowledged too.
      for (const m of ann.lines) if (isEcho(m)) acknowledged.add(m.params[1]);
      assert.equal(StatusBoard.read(port).stale, true, `round ${round}: the killed board is stale`);
    }

    // A last start reclaims the last killed board, finds everything, and shuts down cleanly.
    await using serve = await startServe({
      dataDir,
      status: true,
      args: ["--port", String(port)],
    });
    assert.equal(StatusBoard.read(port).pid, serve.child.process.pid);
    await using ann = await IrcTestClient.register(serve.port, "ann", {
      caps: ["message-tags", "batch", "draft/chathistory", "server-time"],
    });
    await ann.join("#crash");
    const history = await allHistory(ann, "#crash");
    const stored = new Set(history.map((m) => m.params[1]));
    assert.deepEqual([...acknowledged].filter((text) => !stored.has(text)), []);
    console.log(
      `${sent} messages sent, ${acknowledged.size} acknowledged over ${ROUNDS} kills, ${history.length} in history`,
    );
    await ann.close();
    serve.child.process.kill("SIGTERM");
    assert.equal((await serve.child.done).code, 0);
    assert.throws(() => StatusBoard.read(port), /ENOENT/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    try {
      Deno.removeSync(`/dev/shm/${objectName("status", String(port))}`);
    } catch {
      // Removed by the clean shutdown, as it should be.
    }
  }
});
