/**
 * `shmooze client` with accounts, against `shmooze serve`: /register, SASL PLAIN login with
 * --account and SHMOOZE_PASSWORD / --password-file / a prompt without echo, private history
 * after login, and refusals that read clearly.
 */
import assert from "node:assert/strict";
import { type Child, spawn } from "./_helpers.ts";
import { outsideAddress, type ServeProcess, startServe } from "./_irc.ts";
import { peerAvailable, startNgircd } from "./_peers.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";

const PASSWORD = "correct horse battery";
let nickCounter = 0;

function nick(label: string): string {
  return `${label}${Deno.pid % 100000}s${++nickCounter}`;
}

function startClient(
  server: ServeProcess,
  args: string[],
  env: Record<string, string> = {},
  host = "127.0.0.1",
): Child {
  return spawn(
    ["main.ts", "client", "--host", host, "--port", String(server.port), ...args],
    { env, timeoutMs: 60_000 },
  );
}

/** Ends a piped client by closing its input and checks that it quit cleanly. */
async function finish(client: Child): Promise<void> {
  await client.closeStdin();
  const result = await client.done;
  assert.equal(result.code, 0, `client exited ${result.code}; stderr:\n${result.stderr}`);
}

/** Registers `name` as an account from a piped client that then quits. */
async function registerAccount(server: ServeProcess, name: string): Promise<void> {
  await using client = startClient(server, ["--nick", name]);
  await client.waitForLine("joined #lobby");
  await client.writeLine(`/register ${PASSWORD}`);
  await client.waitForLine(`account ${name}: Account created`);
  await client.waitForLine(`logged in as ${name}`);
  await finish(client);
}

Deno.test("shmooze client registers with /register, logs in with --account, keeps the nick and reads private history", async () => {
  await using server = await startServe({ timeoutMs: 120_000 });
  const ann = nick("ann");
  const bob = nick("bob");
  await registerAccount(server, ann);

  {
    await using guest = startClient(server, ["--nick", ann]);
    await guest.waitForLine(
      `as ${ann}_ (nick ${ann} is registered to an account: log in with --account)`,
    );
    await finish(guest);
  }

  {
    await using annIn = startClient(server, ["--nick", ann, "--account", ann], {
      SHMOOZE_PASSWORD: PASSWORD,
    });
    const connected = await annIn.waitForLine("connected to");
    assert.match(connected, new RegExp(`as ${ann}$`));
    await annIn.waitForLine(`logged in as ${ann}`);
    await annIn.waitForLine("joined #lobby");
    await using bobIn = startClient(server, ["--nick", bob]);
    await bobIn.waitForLine("joined #lobby");
    await bobIn.writeLine(`/msg ${ann} the plan is on`);
    await annIn.waitForLine(`[private] <${bob}> the plan is on`);
    await annIn.writeLine(`/msg ${bob} noted`);
    await bobIn.waitForLine(`[private] <${ann}> noted`);
    await finish(bobIn);
    await finish(annIn);
  }

  // The password from a file this time; the account defaults to the nick.
  const dir = await Deno.makeTempDir({ prefix: "shmooze-client-sasl-test-" });
  try {
    const file = `${dir}/password`;
    await Deno.writeTextFile(file, `${PASSWORD}\n`);
    await using annAgain = startClient(server, ["--nick", ann, "--password-file", file]);
    await annAgain.waitForLine(`logged in as ${ann}`);
    await annAgain.waitForLine("joined #lobby");
    await annAgain.writeLine(`/history ${bob}`);
    await annAgain.waitForLine(`history of ${bob}:`);
    const end = await annAgain.waitForLine(/end of history of /);
    assert.match(end, /\(2 messages\)/);
    const said = annAgain.lines.filter((line) => /\[(private|to .*)\] </.test(line));
    assert.deepEqual(said.map((line) => line.replace(/^\S+ /, "")), [
      `[private] <${bob}> the plan is on`,
      `[to ${bob}] <${ann}> noted`,
    ]);
    await finish(annAgain);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shmooze client exits 1 with the server's reason when the password is wrong", async () => {
  await using server = await startServe({ timeoutMs: 120_000 });
  const ann = nick("ann");
  await registerAccount(server, ann);
  await using wrong = startClient(server, ["--nick", ann], {
    SHMOOZE_PASSWORD: "not the password",
  });
  const result = await wrong.done;
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `Cannot log in to 127\\.0\\.0\\.1:${server.port} as ${ann}: SASL authentication failed: invalid account or password`,
    ),
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace was shown");
  assert.ok(!result.stdout.includes("joined #lobby"), "the client went on after a failed login");
});

Deno.test({
  name:
    "shmooze client explains that the server takes no password in clear text from another machine",
  ignore: outsideAddress() === undefined,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000, args: ["--host", "0.0.0.0"] });
    await using client = startClient(server, ["--nick", nick("ann")], {
      SHMOOZE_PASSWORD: PASSWORD,
    }, outsideAddress());
    const result = await client.done;
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /refused SASL PLAIN on this unencrypted connection: .*\(server said: .*clear text.*\); connect with --tls$/m,
    );
  },
});

Deno.test({
  name: "shmooze client asks for the password on a terminal without echoing it",
  ignore: !tmuxAvailable,
  async fn() {
    await using server = await startServe({ timeoutMs: 120_000 });
    const ann = nick("ann");
    await registerAccount(server, ann);
    await using terminal = await Terminal.start([
      "--host",
      "127.0.0.1",
      "--port",
      String(server.port),
      "--nick",
      ann,
      "--account",
      ann,
    ]);
    await terminal.waitFor(`password for ${ann}:`);
    await terminal.type(PASSWORD);
    await terminal.waitFor(`logged in as ${ann}`);
    await terminal.waitFor("joined #lobby");
    assert.ok(!(await terminal.screen()).includes(PASSWORD), "the password was echoed");
    await terminal.type("/quit");
    assert.equal(await terminal.exitStatus(), 0);
  },
});

Deno.test("shmooze client refuses --account without a password on a pipe, and an empty password", async () => {
  for (
    const [args, env, message] of [
      [["--account", "ann"], {}, /--account ann needs a password: set SHMOOZE_PASSWORD/],
      [["--nick", "ann"], { SHMOOZE_PASSWORD: "" }, /password for ann is empty/],
      [["--account", "a b"], { SHMOOZE_PASSWORD: "x" }, /--account "a b" is not an account name/],
    ] as const
  ) {
    await using client = spawn(["main.ts", "client", "--port", "1", ...args], { env });
    await client.closeStdin();
    const result = await client.done;
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});

Deno.test({
  name: "shmooze client says it cannot log in to a server that offers no SASL (ngircd)",
  ignore: !peerAvailable("ngircd"),
  async fn() {
    const peer = await startNgircd({ floodLimitsOff: true });
    try {
      await using client = spawn([
        "main.ts",
        "client",
        "--host",
        peer.host,
        "--port",
        String(peer.port),
        "--nick",
        nick("ann"),
      ], { env: { SHMOOZE_PASSWORD: PASSWORD } });
      const result = await client.done;
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the server does not offer SASL \(no sasl capability/);
    } finally {
      await peer.stop();
    }
  },
});
