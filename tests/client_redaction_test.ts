/**
 * `shmooze client` and deleted messages (IRCv3 `draft/message-redaction`): /delete picks a
 * message as /reply does, a deletion shows live and in /history without repeating the deleted
 * words, and the server's refusals are shown. A real `shmooze serve`, a client on a real
 * terminal (tmux) and a piped one beside it.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { startServe } from "./_irc.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";

let nickCounter = 0;

function nick(label: string): string {
  return `${label}${Deno.pid % 100000}d${++nickCounter}`;
}

Deno.test({
  name:
    "shmooze client deletes with /delete (its own last message, or NICK's as a channel operator), shows deletions live and in /history, and shows a refusal",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const address = ["--host", "127.0.0.1", "--port", String(server.port)];
    const ann = nick("ann");
    const bob = nick("bob");
    await using terminal = await Terminal.start([...address, "--nick", ann]);
    await terminal.waitFor("joined #lobby");
    await terminal.type("/join #room");
    await terminal.waitFor("joined #room");
    await using bobClient = spawn(["main.ts", "client", ...address, "--nick", bob], {
      timeoutMs: 60_000,
    });
    await bobClient.waitForLine("joined #lobby");
    await bobClient.writeLine("/join #room");
    await terminal.waitFor(`${bob} joined #room`);

    // ann deletes her own last message; both see the deletion, without its words again.
    await terminal.type("the wifi password is hunter2");
    await bobClient.waitForLine(`[#room] <${ann}> the wifi password is hunter2`);
    // Our own line is ours to delete once the server has echoed it (and given it its id).
    await terminal.waitFor(`[#room] <${ann}> the wifi password is hunter2`);
    await terminal.type(`/delete ${ann} wrong window`);
    const own = new RegExp(
      `\\[#room\\] ${ann} deleted their message of \\d\\d:\\d\\d:\\d\\d \\(wrong window\\)`,
    );
    await terminal.waitFor(own);
    const seen = await bobClient.waitForLine(own);
    assert.doesNotMatch(seen, /hunter2/);

    // bob may not delete ann's message; ann, #room's operator, deletes bob's.
    await terminal.type("fine, a new one");
    await bobClient.waitForLine(`[#room] <${ann}> fine, a new one`);
    await bobClient.writeLine(`/delete ${ann}`);
    await bobClient.waitForLine(/error: REDACT REDACT_FORBIDDEN: You are not authorised/);
    await bobClient.writeLine("buy cheap watches");
    await terminal.waitFor(`[#room] <${bob}> buy cheap watches`);
    await terminal.type(`/delete ${bob} spam`);
    await bobClient.waitForLine(
      new RegExp(`\\[#room\\] ${ann} deleted ${bob}'s message of \\d\\d:\\d\\d:\\d\\d \\(spam\\)`),
    );

    // History shows each deleted message as deleted, followed by who deleted it.
    await terminal.type("/history");
    await terminal.waitFor(/end of history of #room/);
    const screen = await terminal.screen();
    const history = screen.slice(screen.lastIndexOf("history of #room:"));
    const lines = history.split("\n").map((line) =>
      line.replace(/^\S+ /, "").replaceAll(/\d\d:\d\d:\d\d/g, "HH:MM:SS")
    );
    assert.deepEqual(lines.filter((line) => line.startsWith("[#room]")), [
      `[#room] <${ann}> [deleted]`,
      `[#room] ${ann} deleted their message of HH:MM:SS (wrong window)`,
      `[#room] <${ann}> fine, a new one`,
      `[#room] <${bob}> [deleted]`,
      `[#room] ${ann} deleted ${bob}'s message of HH:MM:SS (spam)`,
    ]);
    assert.doesNotMatch(history, /hunter2|watches/);

    await terminal.type("/quit");
    assert.equal(await terminal.exitStatus(), 0);
    await bobClient.closeStdin();
    assert.equal((await bobClient.done).code, 0);
  },
});
