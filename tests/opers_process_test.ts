/**
 * Server operators against a real `shmooze serve` process: a line from `shmooze oper-hash` in
 * the operator file, bans that survive `kill -9`, the audit log, SIGHUP, and the refusals of a
 * bad operator file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, startServe } from "./_irc.ts";
import { closedWithin, refusedRegistration, writeOperFile } from "./_opers.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";

const PASSWORD = "long-oper-password";

Deno.test("shmooze oper-hash's line works in serve --oper-file, and a KLINE survives kill -9 and a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-process-test-" });
  try {
    const hashed = spawn(["main.ts", "oper-hash", "--name", "ann"]);
    await hashed.writeLine(PASSWORD);
    await hashed.closeStdin();
    const result = await hashed.done;
    assert.equal(result.code, 0, result.stderr);
    const line = result.stdout.trim();
    assert.match(line, /^ann \$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.ok(!line.includes(PASSWORD));
    const operFile = join(dir, "opers.conf");
    await Deno.writeTextFile(operFile, `# made by shmooze oper-hash\n${line}\n`, { mode: 0o600 });
    const dataDir = join(dir, "data");
    const args = ["--oper-file", operFile];
    {
      await using serve = await startServe({ dataDir, args, timeoutMs: 60_000 });
      await using ann = await IrcTestClient.register(serve.port, "ann");
      await ann.send(`OPER ann ${PASSWORD}`);
      await ann.waitFor("381");
      await ann.send("KLINE bob!*@* :kept across crashes");
      await ann.waitFor((m) => m.command === "NOTICE" && /KLINE/.test(m.line));
      // Acknowledged means stored: the process dies without a chance to write anything more.
      serve.child.process.kill("SIGKILL");
      assert.equal((await serve.child.done).code, 137);
    }
    await using again = await startServe({ dataDir, args, timeoutMs: 60_000 });
    assert.deepEqual(await refusedRegistration(again.port, "bob"), {
      banned: "You are banned from this server: kept across crashes",
      error: "Closing Link: 127.0.0.1 (Banned: kept across crashes)",
    });
    await using ann = await IrcTestClient.register(again.port, "ann");
    await ann.send(`OPER ann ${PASSWORD}`);
    await ann.waitFor("381");
    const listed = await ann.reply("STATS k");
    assert.deepEqual(listed.find((m) => m.command === "216")?.params.slice(1), [
      "K",
      "bob!*@*",
      "permanent",
      "ann",
      "kept across crashes",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve logs the audit lines without private messages, and SIGHUP re-reads the operator file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-process-test-" });
  try {
    const operFile = await writeOperFile(dir, { ann: PASSWORD });
    const withDan = await Deno.readTextFile(
      await writeOperFile(dir, { ann: PASSWORD, dan: PASSWORD }, "next.conf"),
    );
    await using serve = await startServe({ args: ["--oper-file", operFile], timeoutMs: 60_000 });
    await using ann = await IrcTestClient.register(serve.port, "ann");
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await using carl = await IrcTestClient.register(serve.port, "carl");
    await using dan = await IrcTestClient.register(serve.port, "dan");
    await ann.send(`OPER ann ${PASSWORD}`);
    await ann.waitFor("381");
    await bob.send("PRIVMSG carl :the secret is swordfish");
    await carl.waitFor("PRIVMSG");
    await ann.send("KLINE carl!*@* :spam");
    await closedWithin(carl);
    await dan.send(`OPER dan ${PASSWORD}`);
    await dan.waitFor("464");
    await Deno.writeTextFile(operFile, withDan);
    serve.child.process.kill("SIGHUP");
    const rehashed = await ann.waitFor((m) => m.command === "NOTICE" && /REHASH/.test(m.line));
    assert.equal(rehashed.params[1], `*** REHASH by SIGHUP: 2 operator(s) from ${operFile}`);
    await dan.send(`OPER dan ${PASSWORD}`);
    await dan.waitFor("381", 15_000);
    serve.child.process.kill("SIGTERM");
    const { code, stderr } = await serve.child.done;
    assert.equal(code, 0);
    const audit = stderr.split("\n").filter((line) => line.includes("shmooze·audit"));
    for (
      const expected of [
        "OPER ann (ann!ann@127.0.0.1) logged in as oper ann",
        "KLINE carl!*@* (permanent) by ann: spam; disconnected carl",
        "OPER failed for dan!dan@127.0.0.1 as oper dan",
        `REHASH by SIGHUP: 2 operator(s) from ${operFile}`,
        "OPER dan (dan!dan@127.0.0.1) logged in as oper dan",
      ]
    ) {
      assert.ok(audit.some((line) => line.includes(expected)), `${expected} not in:\n${stderr}`);
    }
    assert.doesNotMatch(stderr, /swordfish/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve refuses an operator file that is missing, open to others or has a wrong line, in one line with exit code 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-opers-process-test-" });
  try {
    const open = await writeOperFile(dir, ["ann"], "open.conf");
    await Deno.chmod(open, 0o644);
    const wrong = join(dir, "wrong.conf");
    await Deno.writeTextFile(wrong, "# operators\nann hunter2 extra\n", { mode: 0o600 });
    const cases: [string, string][] = [
      [
        join(dir, "missing.conf"),
        `Cannot read operator file "${join(dir, "missing.conf")}": No such file or directory`,
      ],
      [
        open,
        `Cannot use operator file "${open}": it is open to other users (mode 0644); chmod 600 it`,
      ],
      [wrong, `Cannot use operator file "${wrong}": line 2: expected "name hash", found 3 fields`],
    ];
    for (const [file, message] of cases) {
      const serve = spawn([
        "main.ts",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-http",
        "--no-status",
        "--data",
        join(dir, "data"),
        "--oper-file",
        file,
      ]);
      const { code, stdout, stderr } = await serve.done;
      assert.equal(code, 1, stderr);
      assert.equal(stdout, "");
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.ok(lines[0].startsWith(`error: ${message}`), lines[0]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "shmooze oper-hash asks twice on a terminal without echoing, and refuses two different passwords",
  ignore: !tmuxAvailable,
  async fn() {
    const command = [Deno.execPath(), "run", "-A", "--quiet", "main.ts", "oper-hash", "--name"];
    {
      await using terminal = await Terminal.run([...command, "ann"]);
      await terminal.waitFor("operator password:");
      await terminal.type(PASSWORD);
      await terminal.waitFor("again:");
      await terminal.type(PASSWORD);
      await terminal.waitFor(/^ann \$argon2id\$v=19\$m=19456,t=2,p=1\$/m);
      assert.equal(await terminal.exitStatus(), 0);
      assert.ok(!(await terminal.screen()).includes(PASSWORD), "the password was echoed");
    }
    await using terminal = await Terminal.run([...command, "bob"]);
    await terminal.waitFor("operator password:");
    await terminal.type(PASSWORD);
    await terminal.waitFor("again:");
    await terminal.type(`${PASSWORD}x`);
    await terminal.waitFor("error: The two passwords differ; nothing was hashed");
    assert.equal(await terminal.exitStatus(), 1);
  },
});
