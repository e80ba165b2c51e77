/**
 * `shmooze client` on a real terminal: tmux runs it in a detached session on a private
 * socket, the test types with `send-keys` and reads the screen with `capture-pane`.
 * A piped client in the same channel is the other side of the conversation.
 */
import assert from "node:assert/strict";
import { type Child, spawn } from "./_helpers.ts";
import { startServe } from "./_irc.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";
import { peerAvailable, startNgircd } from "./_peers.ts";

let nickCounter = 0;

function nick(label: string): string {
  return `${label}${Deno.pid % 100000}m${++nickCounter}`;
}

/** The last line on screen: the prompt, with whatever is typed after it. */
function lastLine(screen: string): string {
  return screen.split("\n").at(-1) ?? "";
}

/**
 * A terminal test against a fresh ngircd, beside a piped client called `other` that has
 * joined #lobby; `server` holds the --host and --port arguments.
 */
function terminalTest(
  name: string,
  body: (server: string[], other: { nick: string; client: Child }) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !tmuxAvailable || !peerAvailable("ngircd"),
    async fn() {
      const peer = await startNgircd({ floodLimitsOff: true });
      try {
        const server = ["--host", peer.host, "--port", String(peer.port)];
        const otherNick = nick("other");
        await using other = spawn(["main.ts", "client", ...server, "--nick", otherNick]);
        await other.waitForLine("joined #lobby");
        await body(server, { nick: otherNick, client: other });
        await other.closeStdin();
        assert.equal((await other.done).code, 0);
      } finally {
        await peer.stop();
      }
    },
  });
}

terminalTest(
  "shmooze client --menu sends to all, sends privately, replies, lists users, views history, marks read, renames and quits",
  async (server, other) => {
    const menuNick = nick("menu");
    const renamed = nick("renamed");
    await using terminal = await Terminal.start([...server, "--nick", menuNick, "--menu"]);
    await terminal.waitFor("joined #lobby");
    await terminal.waitFor("1) Send a message to everyone in the channel");
    await terminal.waitFor("8) Quit");
    await other.client.waitForLine(`${menuNick} joined #lobby`);

    await terminal.type("1");
    await terminal.waitFor("message to #lobby>");
    await terminal.type("hello from the menu");
    await other.client.waitForLine(`[#lobby] <${menuNick}> hello from the menu`);

    await terminal.type("2");
    await terminal.waitFor("send to (nick)>");
    await terminal.type(other.nick);
    await terminal.waitFor(`message to ${other.nick}>`);
    await terminal.type("only for you");
    await other.client.waitForLine(`[private] <${menuNick}> only for you`);

    await other.client.writeLine("a question for the menu");
    await terminal.waitFor(`[#lobby] <${other.nick}> a question for the menu`);
    await terminal.type("3");
    await terminal.waitFor(
      "reply to (Enter or 1 for the last message, 2 the one before, or a nick)>",
    );
    await terminal.type("");
    await terminal.waitFor("your reply>");
    await terminal.type("an answer");
    // ngircd has no message-tags: the reply is the IRC custom, "nick: text".
    await other.client.waitForLine(`[#lobby] <${menuNick}> ${other.nick}: an answer`);

    await terminal.type("4");
    await terminal.waitFor(new RegExp(`users in #lobby \\(2\\): .*${other.nick}`));

    await terminal.type("5");
    await terminal.waitFor("history of (channel or nick, Enter for #lobby)>");
    await terminal.type("");
    await terminal.waitFor("error: history is not available on this server");

    await terminal.type("6");
    await terminal.waitFor("error: read markers are not available on this server");

    await terminal.type("9");
    await terminal.waitFor(`error: "9" is not on the menu: choose 1 to 8`);

    await terminal.type("7");
    await terminal.waitFor("new name>");
    await terminal.type(renamed);
    await terminal.waitFor(`you are now known as ${renamed}`);
    await other.client.waitForLine(`${menuNick} is now known as ${renamed}`);

    await terminal.type("8");
    assert.equal(await terminal.exitStatus(), 0);
    await terminal.waitFor("disconnected");
    await other.client.waitForLine(`${renamed} quit`);
  },
);

terminalTest(
  "shmooze client on a terminal prints arriving lines above the prompt and keeps half-typed text",
  async (server, other) => {
    const typistNick = nick("typist");
    await using terminal = await Terminal.start([...server, "--nick", typistNick]);
    await terminal.waitFor("joined #lobby");
    await terminal.waitFor(/#lobby>$/);
    await other.client.waitForLine(`${typistNick} joined #lobby`);

    await terminal.type("half typed", false);
    await terminal.waitFor(/#lobby> half typed$/);
    await other.client.writeLine("interrupting you");
    await terminal.waitFor(`[#lobby] <${other.nick}> interrupting you`);
    assert.equal(lastLine(await terminal.screen()), "#lobby> half typed");

    await terminal.type(" and finished");
    await other.client.waitForLine(`[#lobby] <${typistNick}> half typed and finished`);
    await terminal.waitFor(`<${typistNick}> half typed and finished`);
    // The typed line is replaced by its rendering, not shown twice.
    assert.doesNotMatch(await terminal.screen(), /#lobby> half typed and finished/);

    await terminal.type("/quit see you");
    assert.equal(await terminal.exitStatus(), 0);
    await other.client.waitForLine(new RegExp(`${typistNick} quit \\(.*see you`));
  },
);

terminalTest(
  "shmooze client on a terminal quits cleanly on Ctrl-C, dropping the unsent line",
  async (server, other) => {
    const typistNick = nick("typist");
    await using terminal = await Terminal.start([...server, "--nick", typistNick]);
    await terminal.waitFor("joined #lobby");
    await terminal.type("never sent", false);
    await terminal.waitFor(/#lobby> never sent$/);
    await terminal.press("C-c");
    assert.equal(await terminal.exitStatus(), 0);
    await terminal.waitFor("disconnected");
    await other.client.waitForLine(`${typistNick} quit`);
    assert.ok(!other.client.lines.some((line) => line.includes("never sent")));
  },
);

Deno.test({
  name: "shmooze client --menu views a channel's history from shmooze serve",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const writerNick = nick("writer");
    const readerNick = nick("reader");
    const address = ["--host", "127.0.0.1", "--port", String(server.port)];
    {
      await using writer = spawn(["main.ts", "client", ...address, "--nick", writerNick]);
      await writer.waitForLine("joined #lobby");
      await writer.writeLine("said before you came");
      await writer.waitForLine(`<${writerNick}> said before you came`);
      await writer.closeStdin();
      assert.equal((await writer.done).code, 0);
    }
    await using terminal = await Terminal.start([...address, "--nick", readerNick, "--menu"]);
    await terminal.waitFor("joined #lobby");
    await terminal.type("5");
    await terminal.waitFor("history of (channel or nick, Enter for #lobby)>");
    await terminal.type("#lobby");
    await terminal.waitFor("history of #lobby:");
    await terminal.waitFor(`[#lobby] <${writerNick}> said before you came`);
    await terminal.waitFor("end of history of #lobby (1 message)");
    await terminal.type("8");
    assert.equal(await terminal.exitStatus(), 0);
  },
});
