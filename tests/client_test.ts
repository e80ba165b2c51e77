/**
 * `shmooze client` driven through pipes: against a real ngircd, against `shmooze serve`,
 * beside an irc-framework client, and when the server is missing or goes away.
 */
import assert from "node:assert/strict";
import IRC from "irc-framework";
import { type Child, spawn, waitUntil } from "./_helpers.ts";
import { IrcTestClient, startServe } from "./_irc.ts";
import { assertArrivedWhole, longLine } from "./_long_lines.ts";
import { peerAvailable, startNgircd } from "./_peers.ts";
import { IrcClient } from "../src/client/irc_client.ts";

/** A server the clients talk to. */
interface Server {
  host: string;
  port: number;
  stop(): Promise<void>;
}

let nickCounter = 0;

/** A nick unique to this test process (ngircd wants them short and letter-first). */
function nick(label: string): string {
  return `${label}${Deno.pid % 100000}n${++nickCounter}`;
}

/** `shmooze serve` on an ephemeral port with a throw-away data directory. */
async function serve(): Promise<Server> {
  const server = await startServe({ timeoutMs: 120_000 });
  return { host: "127.0.0.1", port: server.port, stop: () => server[Symbol.asyncDispose]() };
}

/** A test run against a fresh server: ngircd (skipped when not installed) or shmooze serve. */
function testWith(
  kind: "ngircd" | "serve",
  name: string,
  body: (server: Server) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: kind === "ngircd" && !peerAvailable("ngircd"),
    async fn() {
      const server = kind === "ngircd"
        ? await startNgircd({ floodLimitsOff: true })
        : await serve();
      try {
        await body(server);
      } finally {
        await server.stop();
      }
    },
  });
}

function startClient(server: Server, name: string, ...extra: string[]): Child {
  return spawn(
    [
      "main.ts",
      "client",
      "--host",
      server.host,
      "--port",
      String(server.port),
      "--nick",
      name,
      ...extra,
    ],
    { timeoutMs: 60_000 },
  );
}

/** Ends a piped client by closing its input and checks that it quit cleanly. */
async function finish(client: Child): Promise<string> {
  await client.closeStdin();
  const result = await client.done;
  assert.equal(result.code, 0, `client exited ${result.code}; stderr:\n${result.stderr}`);
  assert.match(result.stdout, /disconnected$/m);
  return result.stdout;
}

/** Two piped clients: channel messages both ways, an action and a private message. */
async function exchange(server: Server): Promise<void> {
  const annNick = nick("ann");
  const bobNick = nick("bob");
  await using ann = startClient(server, annNick);
  await ann.waitForLine(`connected to ${server.host}:${server.port} as ${annNick}`);
  await ann.waitForLine("joined #lobby");
  await using bob = startClient(server, bobNick);
  await bob.waitForLine("joined #lobby");
  await ann.waitForLine(`${bobNick} joined #lobby`);

  await bob.writeLine("hello from bob");
  await ann.waitForLine(`[#lobby] <${bobNick}> hello from bob`);
  await ann.writeLine("hi bob, with spaces  and : colons");
  await bob.waitForLine(`[#lobby] <${annNick}> hi bob, with spaces  and : colons`);
  await ann.writeLine("/me waves");
  await bob.waitForLine(`[#lobby] * ${annNick} waves`);
  await bob.writeLine(`/msg ${annNick} just between us`);
  await ann.waitForLine(`[private] <${bobNick}> just between us`);
  await bob.waitForLine(`[to ${annNick}] <${bobNick}> just between us`);

  const bobOut = await finish(bob);
  await ann.waitForLine(new RegExp(`${bobNick} quit`));
  assert.doesNotMatch(bobOut, /\[private\]/, "bob received his own private message");
  await finish(ann);
}

testWith(
  "ngircd",
  "shmooze client exchanges channel and private messages with another client via ngircd",
  exchange,
);

testWith(
  "serve",
  "shmooze client exchanges channel and private messages with another client via shmooze serve",
  exchange,
);

/** An irc-framework client in this process and a piped `shmooze client` talk both ways. */
async function withIrcFramework(server: Server): Promise<void> {
  const botNick = nick("bot");
  const userNick = nick("usr");
  const bot = new IRC.Client();
  const heard: { nick: string; target: string; message: string }[] = [];
  // irc-framework reports through events; the test waits on the state they leave.
  const until = (what: string, test: () => boolean) =>
    waitUntil(test, 10_000, `irc-framework to see the ${what}`);
  let registered = false;
  let joined = false;
  let closed = false;
  bot.on("registered", () => {
    registered = true;
  });
  bot.on("join", (event: { nick: string }) => {
    if (event.nick === botNick) joined = true;
  });
  bot.on("privmsg", (event: { nick: string; target: string; message: string }) => {
    heard.push({ nick: event.nick, target: event.target, message: event.message });
  });
  bot.on("close", () => {
    closed = true;
  });
  bot.connect({ host: server.host, port: server.port, nick: botNick, auto_reconnect: false });
  try {
    await until("registration", () => registered);
    bot.join("#lobby");
    await until("join", () => joined);

    await using user = startClient(server, userNick);
    await user.waitForLine("joined #lobby");
    await user.writeLine("hello irc-framework");
    await until(
      "channel message",
      () =>
        heard.some((m) =>
          m.nick === userNick && m.target === "#lobby" && m.message === "hello irc-framework"
        ),
    );
    await user.writeLine(`/msg ${botNick} a private word`);
    await until(
      "private message",
      () =>
        heard.some((m) =>
          m.nick === userNick && m.target === botNick && m.message === "a private word"
        ),
    );
    bot.say("#lobby", "hello shmooze client");
    await user.waitForLine(`[#lobby] <${botNick}> hello shmooze client`);
    bot.say(userNick, "private reply");
    await user.waitForLine(`[private] <${botNick}> private reply`);
    await finish(user);
  } finally {
    bot.quit("done");
    await until("close", () => closed).catch(() => bot.connection?.end?.());
  }
}

testWith(
  "ngircd",
  "shmooze client and an irc-framework client exchange messages via ngircd",
  withIrcFramework,
);

testWith(
  "serve",
  "shmooze client and an irc-framework client exchange messages via shmooze serve",
  withIrcFramework,
);

testWith(
  "serve",
  "shmooze client /history shows a channel's last messages from shmooze serve and explains a refusal",
  async (server) => {
    const annNick = nick("ann");
    const bobNick = nick("bob");
    {
      await using ann = startClient(server, annNick);
      await ann.waitForLine("joined #lobby");
      for (const text of ["first", "second", "third"]) {
        await ann.writeLine(`history ${text}`);
        await ann.waitForLine(`<${annNick}> history ${text}`);
      }
      await finish(ann);
    }
    await using bob = startClient(server, bobNick);
    await bob.waitForLine("joined #lobby");
    await bob.writeLine("/history #lobby 2");
    await bob.waitForLine("history of #lobby:");
    const last = await bob.waitForLine(/end of history of #lobby/);
    assert.match(last, /\(2 messages\)/);
    const shown = bob.lines.filter((line) => line.includes(`<${annNick}> history `));
    assert.deepEqual(shown.map((line) => line.replace(/^.*> /, "")), [
      "history second",
      "history third",
    ]);

    await using ann = startClient(server, annNick);
    await ann.waitForLine("joined #lobby");
    await ann.writeLine(`/msg ${bobNick} remember this`);
    await bob.waitForLine(`[private] <${annNick}> remember this`);
    // shmooze serves private history only to a logged-in account owner, which this client
    // does not log in as: the refusal must read clearly.
    await bob.writeLine(`/history ${annNick}`);
    await bob.waitForLine(/error: CHATHISTORY ACCOUNT_REQUIRED: \w.*log in to read yours/);
    await finish(ann);
    await finish(bob);
  },
);

testWith(
  "ngircd",
  "shmooze client says history is not available on a server without draft/chathistory",
  async (server) => {
    await using ann = startClient(server, nick("ann"));
    await ann.waitForLine("joined #lobby");
    await ann.writeLine("/history");
    await ann.waitForLine(/error: history is not available on this server/);
    await finish(ann);
  },
);

testWith(
  "ngircd",
  "shmooze client takes a suffixed nick when its nick is in use, and says so",
  async (server) => {
    const taken = nick("dup");
    await using holder = await IrcClient.connect({ ...server, nick: taken });
    await using second = startClient(server, taken);
    await second.waitForLine(`as ${taken}_ (nick ${taken} is taken)`);
    await second.waitForLine("joined #lobby");
    await finish(second);
    assert.equal(holder.nick, taken);
  },
);

testWith("ngircd", "shmooze client reports a lost connection and exits 1", async (server) => {
  await using ann = startClient(server, nick("ann"));
  await ann.waitForLine("joined #lobby");
  await server.stop();
  const result = await ann.done;
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`Lost the connection to ${server.host}:${server.port}`));
});

for (const kind of ["serve", "ngircd"] as const) {
  testWith(
    kind,
    `shmooze client sends a 600-character line whole, cut between words within the line limit (${kind})`,
    async (server) => {
      const annNick = nick("ann");
      await using tom = await IrcTestClient.register(server.port, nick("tom"));
      await tom.join("#lobby");
      await using ann = startClient(server, annNick);
      await ann.waitForLine("joined #lobby");
      const text = longLine("client");
      await ann.writeLine(text);
      const relayed = new RegExp(`^(@\\S+ )?:${annNick}!\\S+ PRIVMSG #lobby :`);
      const lines = [];
      const letters = (pieces: string[]) => pieces.join("").replaceAll(" ", "").length;
      while (letters(lines.map((m) => m.params[1])) < letters([text]) && lines.length < 6) {
        lines.push(await tom.waitFor(relayed));
      }
      assertArrivedWhole(lines, text);
      await finish(ann);
    },
  );
}

Deno.test("shmooze client names host:port and exits 1 when the connection is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using client = spawn(["main.ts", "client", "--port", String(port), "--nick", "ann"]);
  await client.closeStdin();
  const result = await client.done;
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`Cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`),
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace was shown");
});

Deno.test("shmooze client rejects bad flags with exit code 2", async () => {
  for (
    const [args, message] of [
      [["--port", "99999"], /--port must be a whole number from 1 to 65535/],
      [["--nick", "9 lives"], /--nick "9 lives" is not a valid nick/],
      [["--channel", "a b"], /--channel: "a b" is not a channel name/],
      [["--frobnicate"], /--frobnicate/],
    ] as const
  ) {
    await using client = spawn(["main.ts", "client", ...args]);
    await client.closeStdin();
    const result = await client.done;
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});
