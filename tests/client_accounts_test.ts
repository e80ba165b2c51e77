/**
 * `shmooze client` with what accounts bring (issue #13): replies and reactions, unread
 * messages from read markers, /markread across devices, several devices on one account, and
 * always-on. A real `shmooze serve` (a process with its data directory), clients on real
 * terminals (tmux) and piped ones beside them.
 */
import assert from "node:assert/strict";
import { type Child, spawn } from "./_helpers.ts";
import { IrcTestClient, type ServeProcess, startServe } from "./_irc.ts";
import { PASSWORD, registeredUser } from "./_accounts.ts";
import { peerAvailable, startNgircd } from "./_peers.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";

let nickCounter = 0;

function nick(label: string): string {
  return `${label}${Deno.pid % 100000}a${++nickCounter}`;
}

function address(server: { port: number }): string[] {
  return ["--host", "127.0.0.1", "--port", String(server.port)];
}

/** A piped `shmooze client`, logged in to `account` when it is given. */
function pipedClient(server: { port: number }, args: string[], account?: string): Child {
  const login = account === undefined ? [] : ["--account", account];
  return spawn(["main.ts", "client", ...address(server), ...login, ...args], {
    env: account === undefined ? {} : { SHMOOZE_PASSWORD: PASSWORD },
    timeoutMs: 60_000,
  });
}

/** `shmooze client --account NAME` on a terminal. */
function accountTerminal(server: ServeProcess, account: string, ...args: string[]) {
  return Terminal.start([...address(server), "--account", account, ...args], {
    SHMOOZE_PASSWORD: PASSWORD,
  });
}

/** Registers an account (its nick) on the server, then disconnects. */
async function register(server: ServeProcess, name: string): Promise<void> {
  await using client = await registeredUser(server.port, name);
  await client.send("QUIT");
}

/** Ends a piped client by closing its input and checks that it quit cleanly. */
async function finish(client: Child): Promise<string> {
  await client.closeStdin();
  const result = await client.done;
  assert.equal(result.code, 0, `client exited ${result.code}; stderr:\n${result.stderr}`);
  return result.stdout;
}

/** HH:MM:SS of a line the client printed. */
function clockOf(line: string): string {
  return /^(\d\d:\d\d:\d\d) /.exec(line)![1];
}

Deno.test({
  name:
    "shmooze client shows a reply as a reply and a reaction to it (escaped), sends both with /reply and /react, and shows no typing notice",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    await using terminal = await Terminal.start([...address(server), "--nick", ann]);
    await terminal.waitFor("joined #lobby");
    await using bobClient = pipedClient(server, ["--nick", bob]);
    await bobClient.waitForLine("joined #lobby");
    await terminal.waitFor(`${bob} joined #lobby`);

    await bobClient.writeLine("lunch at noon?");
    await terminal.waitFor(`[#lobby] <${bob}> lunch at noon?`);
    await terminal.type(`/reply ${bob} sure, where?`);
    const reply = `<${ann}> (reply to ${bob}: "lunch at noon?") sure, where?`;
    await bobClient.waitForLine(`[#lobby] ${reply}`);
    await terminal.waitFor(`[#lobby] ${reply}`);

    // A typing notice from a third user is relayed to ann and not shown.
    const cyNick = nick("cy");
    await using cy = await IrcTestClient.register(server.port, cyNick, {
      caps: ["message-tags", "echo-message"],
    });
    await cy.join("#lobby");
    await cy.send("@+typing=active TAGMSG #lobby");
    const long = "done typing, and now a message too long to be quoted whole";
    await cy.send(`PRIVMSG #lobby :${long}`);
    const echoed = await cy.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === long);
    await terminal.waitFor(long);
    await bobClient.waitForLine(long);
    // A reaction is someone else's text too: its control characters are shown, not obeyed.
    await cy.send(`@+draft/react=\x1b[2Jboom;+draft/reply=${echoed.tags.msgid} TAGMSG #lobby`);
    await terminal.waitFor(`[#lobby] ${cyNick} reacted ^[[2Jboom to ${cyNick}: "done typing`);

    // Bob's last message in #lobby is now cy's: 2 back is ann's reply.
    await bobClient.writeLine("/react 2 👍");
    await bobClient.waitForLine(`[#lobby] ${bob} reacted 👍 to ${ann}: "sure, where?"`);
    await terminal.waitFor(
      new RegExp(`\\[#lobby\\] ${bob} reacted \\S+ to ${ann}: "sure, where\\?"`),
    );
    // A long message is quoted by its start.
    await bobClient.writeLine(`/reply ${cyNick} me too`);
    await terminal.waitFor(`<${bob}> (reply to ${cyNick}: "${long.slice(0, 40)}…") me too`);
    assert.doesNotMatch(await terminal.screen(), /TAGMSG|typing=/, "a typing notice was shown");

    await terminal.type("/quit");
    assert.equal(await terminal.exitStatus(), 0);
    await finish(bobClient);
  },
});

Deno.test("shmooze client --account NAME without --nick asks for NAME as its nick", async () => {
  await using server = await startServe({ timeoutMs: 120_000 });
  const ann = nick("ann");
  await register(server, ann);
  await using client = pipedClient(server, [], ann);
  await client.waitForLine(`connected to 127.0.0.1:${server.port} as ${ann}`);
  await client.waitForLine(`logged in as ${ann}`);
  await finish(client);
});

Deno.test({
  name:
    "shmooze client --account shows each channel's unread messages, counted, after a reconnect (read markers)",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    await register(server, ann);
    let lobbyRead: string;
    let devRead: string;
    {
      // Quitting on purpose marks what was shown read.
      await using first = pipedClient(server, [], ann);
      await first.waitForLine("joined #lobby");
      await first.writeLine("/join #dev");
      await first.waitForLine("joined #dev");
      await first.writeLine("in dev");
      devRead = clockOf(await first.waitForLine(`[#dev] <${ann}> in dev`));
      await first.writeLine("/msg #lobby in the lobby");
      lobbyRead = clockOf(await first.waitForLine(`[#lobby] <${ann}> in the lobby`));
      // Marking read on the way out says nothing.
      assert.doesNotMatch(await finish(first), /read up to/);
    }
    {
      await using bobClient = pipedClient(server, ["--nick", bob]);
      await bobClient.waitForLine("joined #lobby");
      await bobClient.writeLine("/join #dev");
      await bobClient.waitForLine("joined #dev");
      await bobClient.writeLine("dev news");
      await bobClient.writeLine("/msg #lobby lobby news 1");
      await bobClient.writeLine("/msg #lobby lobby news 2");
      await bobClient.waitForLine(`<${bob}> lobby news 2`);
      await finish(bobClient);
    }
    await using terminal = await accountTerminal(server, ann);
    await terminal.waitFor(`logged in as ${ann}`);
    await terminal.waitFor(`2 unread in #lobby since ${lobbyRead}:`);
    await terminal.waitFor(`[#lobby] <${bob}> lobby news 2`);
    assert.match(await terminal.screen(), new RegExp(`lobby news 1\n.*lobby news 2`));
    assert.doesNotMatch(await terminal.screen(), /in the lobby/, "a read message was shown");
    await terminal.type("/join #dev");
    await terminal.waitFor(`1 unread in #dev since ${devRead}:`);
    await terminal.waitFor(`[#dev] <${bob}> dev news`);
    await terminal.type("/quit");
    assert.equal(await terminal.exitStatus(), 0);

    // The quit marked both read: nothing is unread on the next login.
    await using again = pipedClient(server, [], ann);
    await again.waitForLine(/nothing unread in #lobby since/);
    await finish(again);
  },
});

Deno.test({
  name: "shmooze client /markread on one device of an account moves the read marker on the other",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    await register(server, ann);
    await using laptop = await accountTerminal(server, ann);
    await laptop.waitFor("joined #lobby");
    await using phone = pipedClient(server, [], ann);
    await phone.waitForLine("joined #lobby");
    await using bobClient = pipedClient(server, ["--nick", bob]);
    await bobClient.waitForLine("joined #lobby");
    await bobClient.writeLine("mark me read");
    const said = clockOf(await phone.waitForLine(`[#lobby] <${bob}> mark me read`));
    await laptop.waitFor(`[#lobby] <${bob}> mark me read`);

    await laptop.type("/markread");
    await laptop.waitFor(`#lobby read up to ${said}`);
    await phone.waitForLine(`#lobby read up to ${said} on another device`);
    await finish(bobClient);
    await laptop.type("/quit");
    assert.equal(await laptop.exitStatus(), 0);
    await finish(phone);

    await using later = pipedClient(server, [], ann);
    await later.waitForLine(`nothing unread in #lobby since ${said}`);
    await finish(later);
  },
});

Deno.test({
  name:
    "two shmooze client --account sessions share the account's nick, see what the other sends, and one leaving keeps the other",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    await register(server, ann);
    await using bobClient = pipedClient(server, ["--nick", bob]);
    await bobClient.waitForLine("joined #lobby");
    await using laptop = await accountTerminal(server, ann);
    await laptop.waitFor(`connected to 127.0.0.1:${server.port} as ${ann}`);
    await laptop.waitFor("joined #lobby");
    // Another nick asked for: the server gives the account's, in its welcome or by a NICK.
    await using phone = pipedClient(server, ["--nick", nick("phone")], ann);
    await phone.waitForLine(
      new RegExp(
        `as ${ann} \\(the nick of account ${ann}, shared by its connections\\)$|you are now known as ${ann}$`,
      ),
    );
    await phone.waitForLine("joined #lobby");
    assert.ok(
      !phone.lines.some((line) => line.endsWith(`you are now known as ${ann}`)),
      "the nick given before the welcome was announced twice",
    );

    await laptop.type("from the laptop");
    await bobClient.waitForLine(`[#lobby] <${ann}> from the laptop`);
    await phone.waitForLine(`[#lobby] <${ann}> from the laptop`);
    await phone.writeLine(`/msg ${bob} from the phone`);
    await bobClient.waitForLine(`[private] <${ann}> from the phone`);
    await laptop.waitFor(`[to ${bob}] <${ann}> from the phone`);

    await finish(phone);
    await laptop.type("still here");
    await bobClient.waitForLine(`[#lobby] <${ann}> still here`);
    assert.ok(
      !bobClient.lines.some((line) => line.includes(`${ann} quit`)),
      "the account quit when one of its two clients left",
    );
    await laptop.type("/quit");
    assert.equal(await laptop.exitStatus(), 0);
    await bobClient.waitForLine(`${ann} quit`);
    await finish(bobClient);
  },
});

Deno.test({
  name:
    "shmooze client /alwayson on keeps the account in #lobby with no client, and the next login shows the private messages it missed",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    await register(server, ann);
    let arrived: string;
    {
      await using first = pipedClient(server, [], ann);
      arrived = clockOf(await first.waitForLine("joined #lobby"));
      await first.writeLine("/alwayson on");
      await first.waitForLine(/NickServ.*always-on/i);
      await finish(first);
    }
    await using bobClient = pipedClient(server, ["--nick", bob]);
    await bobClient.waitForLine(new RegExp(`users in #lobby \\(2\\): .*\\b${ann}\\b`));
    await bobClient.writeLine("is ann around?");
    await bobClient.writeLine(`/msg ${ann} while you were away`);
    await bobClient.waitForLine(`[to ${ann}] <${bob}> while you were away`);

    // ann said and saw nothing in #lobby: her quit marked it read up to her arrival.
    await using terminal = await accountTerminal(server, ann);
    await terminal.waitFor(`1 unread in #lobby since ${arrived}:`);
    await terminal.waitFor(`[#lobby] <${bob}> is ann around?`);
    await terminal.waitFor(`1 unread from ${bob}:`);
    await terminal.waitFor(`[private] <${bob}> while you were away`);
    await terminal.type("/alwayson off");
    await terminal.waitFor(/NickServ.*always-on/i);
    await terminal.type("/quit");
    assert.equal(await terminal.exitStatus(), 0);
    await bobClient.waitForLine(`${ann} quit`);
    await finish(bobClient);
  },
});

Deno.test({
  name: "shmooze client /history shows stored replies as replies, and reactions",
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    const bob = nick("bob");
    {
      await using annClient = pipedClient(server, ["--nick", ann]);
      await annClient.waitForLine("joined #lobby");
      await using bobClient = pipedClient(server, ["--nick", bob]);
      await bobClient.waitForLine("joined #lobby");
      await annClient.writeLine("lunch at noon?");
      await bobClient.waitForLine(`<${ann}> lunch at noon?`);
      await bobClient.writeLine(`/reply ${ann} sure`);
      await annClient.waitForLine(`<${bob}> (reply to ${ann}: "lunch at noon?") sure`);
      await annClient.writeLine(`/react ${bob} 👍`);
      await bobClient.waitForLine(`${ann} reacted 👍 to ${bob}: "sure"`);
      await finish(bobClient);
      await finish(annClient);
    }
    await using cy = pipedClient(server, ["--nick", nick("cy")]);
    await cy.waitForLine("joined #lobby");
    await cy.writeLine("/history #lobby");
    await cy.waitForLine("history of #lobby:");
    await cy.waitForLine(`[#lobby] <${bob}> (reply to ${ann}: "lunch at noon?") sure`);
    await cy.waitForLine(`[#lobby] ${ann} reacted 👍 to ${bob}: "sure"`);
    await cy.waitForLine("end of history of #lobby (3 messages)");
    await finish(cy);
  },
});

Deno.test({
  name:
    "shmooze client says what /markread, /react and /alwayson need on a server without them (ngircd), and replies as NICK: TEXT",
  ignore: !peerAvailable("ngircd"),
  async fn() {
    const peer = await startNgircd({ floodLimitsOff: true });
    try {
      const ann = nick("ann");
      const bob = nick("bob");
      await using annClient = pipedClient(peer, ["--nick", ann]);
      await annClient.waitForLine("joined #lobby");
      await using bobClient = pipedClient(peer, ["--nick", bob]);
      await bobClient.waitForLine("joined #lobby");
      await bobClient.writeLine("hello ann");
      await annClient.waitForLine(`[#lobby] <${bob}> hello ann`);

      await annClient.writeLine("/markread");
      await annClient.waitForLine(
        `error: read markers are not available on this server (${peer.host}:${peer.port} does not offer draft/read-marker)`,
      );
      await annClient.writeLine("/alwayson on");
      await annClient.waitForLine(
        "error: always-on belongs to an account: log in with --account, or /register",
      );
      await annClient.writeLine("/react 1 yes");
      await annClient.waitForLine(/error: reactions need message ids and client tags/);
      await annClient.writeLine("/reply 3 nothing there");
      await annClient.waitForLine("error: there is no message number 3 back in #lobby");
      await annClient.writeLine(`/reply ${bob} hi there`);
      await bobClient.waitForLine(`[#lobby] <${ann}> ${bob}: hi there`);
      await annClient.waitForLine(`[#lobby] <${ann}> ${bob}: hi there`);
      await finish(bobClient);
      await finish(annClient);
    } finally {
      await peer.stop();
    }
  },
});
