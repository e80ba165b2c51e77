/**
 * An anonymous IRC user sends terminal escape sequences, C1 controls and a bidi override:
 * every terminal that shows the message (the operator console, `shmooze local` through the
 * bridge, `shmooze client`, `shmooze status`) shows them escaped and never passes them on.
 */
import assert from "node:assert/strict";
import { escapeControls, terminalJson } from "../src/chat/terminal_text.ts";
import { runConsole } from "../src/server/operator_console.ts";
import { objectName } from "../src/ipc/names.ts";
import { StatusBoard } from "../src/ipc/status_board.ts";
import { assertNoLeftovers, spawn, uniqueName, waitUntil } from "./_helpers.ts";
import { IrcTestClient, startServe, withServer } from "./_irc.ts";

/** Retitles the window (OSC 0 … BEL), clears the screen (CSI 2 J, 7-bit and C1), reverses. */
const EVIL = "title\x1b]0;owned\x07 clear\x1b[2J c1\u009b2J bidi\u202eevil";
/** How each sink shows it. */
const SHOWN = "title^[]0;owned^G clear^[[2J c1\\u009b2J bidi\\u202eevil";
/** What a terminal would obey: C0 but the line feed, DEL, C1, bidi overrides and isolates. */
// deno-lint-ignore no-control-regex
const OBEYED = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function assertShownNotObeyed(output: string): void {
  assert.doesNotMatch(output, OBEYED, "a control character reached the terminal");
  assert.ok(output.includes(SHOWN), `not shown escaped in:\n${output}`);
}

Deno.test("escapeControls shows C0, DEL, C1 and bidi controls and keeps other text", () => {
  assert.equal(escapeControls(EVIL), SHOWN);
  assert.equal(escapeControls("tab\there\r\nnul\0del\x7f"), "tab^Ihere^M^Jnul^@del^?");
  assert.equal(
    escapeControls("\u2066isolate\u2069 \u200fmark"),
    "\\u2066isolate\\u2069 \u200fmark",
  );
  const plain = "héllo wörld ☕ 你好 שלום 👋🏽";
  assert.equal(escapeControls(plain), plain);
  assert.deepEqual(JSON.parse(terminalJson({ text: EVIL })), { text: EVIL });
  assert.doesNotMatch(terminalJson({ text: EVIL }, 2), OBEYED);
});

Deno.test("the operator console shows an IRC user's escape sequences escaped", async () => {
  await withServer({}, async (server) => {
    const printed: string[] = [];
    let heard!: () => void;
    const heardIt = new Promise<void>((resolve) => heard = resolve);
    const input = new TransformStream<Uint8Array, Uint8Array>();
    const console = runConsole(server, {
      input: input.readable,
      interactive: true,
      print: (line) => {
        printed.push(line);
        if (line.includes("bidi")) heard();
      },
    });
    await using tom = await IrcTestClient.register(server.port, "tom");
    await tom.join("#lobby");
    await tom.send(`PRIVMSG #lobby :${EVIL}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      heardIt,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the console printed nothing")), 10_000);
      }),
    ]);
    clearTimeout(timer);
    await input.writable.close();
    await console;
    assertShownNotObeyed(printed.join("\n"));
    assert.ok(printed.includes(`#lobby <tom> ${SHOWN}`), printed.join("\n"));
  });
});

Deno.test("shmooze client shows a network user's escape sequences escaped", async () => {
  await using serve = await startServe({ timeoutMs: 60_000 });
  await using client = spawn(
    ["main.ts", "client", "--port", String(serve.port), "--nick", "ann"],
    { timeoutMs: 60_000 },
  );
  await client.waitForLine("joined #lobby");
  await using tom = await IrcTestClient.register(serve.port, "tom");
  await tom.join("#lobby");
  await tom.send(`PRIVMSG #lobby :${EVIL}`);
  await tom.send(`PRIVMSG ann :${EVIL}`);
  await client.waitForLine(`[private] <tom> ${SHOWN}`);
  await client.closeStdin();
  const { code, stdout } = await client.done;
  assert.equal(code, 0);
  assertShownNotObeyed(stdout);
  assert.match(stdout, new RegExp(`\\[#lobby\\] <tom> ${RegExp.escape(SHOWN)}$`, "m"));
});

Deno.test("shmooze local shows a network user's escape sequences escaped, through the bridge", async () => {
  const room = uniqueName("escape");
  {
    await using serve = await startServe({ args: ["--local-room", room], timeoutMs: 60_000 });
    await serve.child.waitForLine(`bridging local room ${room} with #lobby`);
    await using local = spawn(["main.ts", "local", "--room", room, "--name", "ann"]);
    await local.waitForLine(`joined room ${room} as ann`);
    await using tom = await IrcTestClient.register(serve.port, "tom");
    await tom.join("#lobby");
    await local.waitForLine("* tom joined #lobby");
    await tom.send(`PRIVMSG #lobby :${EVIL}`);
    await local.waitForLine(`<tom@irc> ${SHOWN}`);
    await local.closeStdin();
    const { code, stdout } = await local.done;
    assert.equal(code, 0);
    assertShownNotObeyed(stdout);
  }
  assertNoLeftovers(objectName("room", room));
});

Deno.test("shmooze status shows the last message's escape sequences escaped, in text and JSON", async () => {
  await using serve = await startServe({ status: true, timeoutMs: 60_000 });
  await using tom = await IrcTestClient.register(serve.port, "tom");
  await tom.join("#lobby");
  await tom.send(`PRIVMSG #lobby :${EVIL}`);
  await tom.send("PING :sync");
  await tom.waitFor(/PONG .*sync/);
  const status = async (...args: string[]) => {
    await using child = spawn(["main.ts", "status", "--port", String(serve.port), ...args]);
    await child.closeStdin();
    return await child.done;
  };
  // The server republishes its board on a timer: wait until it holds the message.
  await waitUntil(
    () => StatusBoard.read(serve.port).lastMessage?.text === EVIL,
    10_000,
    "the last message on the status board",
  );
  const text = await status();
  assert.equal(text.code, 0, text.stderr);
  assertShownNotObeyed(text.stdout);
  assert.match(text.stdout, /^last message +\d\d:\d\d:\d\d tom → #lobby: title\^\[\]0;owned\^G/m);
  const json = await status("--json");
  assert.doesNotMatch(json.stdout, OBEYED);
  assert.equal(JSON.parse(json.stdout).lastMessage.text, EVIL);
});
