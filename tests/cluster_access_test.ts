/**
 * `serve --cluster` and `status --cluster` against a real nats-server that asks for
 * credentials (user and password, or a token, from its config file) or TLS (a certificate
 * made by openssl, the test's own CA): the right credentials and CA get in; wrong or missing
 * ones end in one line, exit 1, naming what to check; a CA without tls:// is a usage error.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { startServe } from "./_irc.ts";
import { natsAvailable, startNats } from "./_nats.ts";
import { makeTestCertificate } from "./_tls.ts";

/** Runs `shmooze serve` (no HTTP, no board) to its end or until its node line. */
async function serve(args: string[]) {
  const data = await Deno.makeTempDir({ prefix: "shmooze-cluster-access-" });
  try {
    await using child = spawn([
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-http",
      "--no-status",
      "--data",
      data,
      ...args,
    ]);
    await child.closeStdin();
    return await child.done;
  } finally {
    await Deno.remove(data, { recursive: true });
  }
}

/** Starts a node and returns its `node … of cluster …` line (the node joined). */
async function joins(args: string[]): Promise<string> {
  await using node = await startServe({ args, timeoutMs: 60_000 });
  return await node.child.waitForLine(/^node \S+ of cluster /, 20_000);
}

/** The exit code, nothing on standard output, and one error line (a usage error adds a hint). */
function assertOneLine(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  pattern: RegExp,
): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  const [line, ...rest] = result.stderr.trimEnd().split("\n");
  assert.deepEqual(rest, code === 2 ? ["Run `shmooze --help` for usage."] : [], result.stderr);
  assert.match(line, /^error: /);
  assert.match(line, pattern);
}

/** A file in `dir` holding `text`. */
async function file(dir: string, name: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}`, text);
  return `${dir}/${name}`;
}

Deno.test({
  name: "a node with the right user and password joins; wrong or missing ones get one line, exit 1",
  ignore: !natsAvailable(),
  async fn() {
    await using nats = await startNats(10_000, {
      config: `authorization {\n  user: shmooze\n  password: "s3cret-4-nodes"\n}\n`,
    });
    const dir = await Deno.makeTempDir({ prefix: "shmooze-creds-" });
    try {
      const good = await file(dir, "good.creds", "shmooze:s3cret-4-nodes\n");
      const bad = await file(dir, "bad.creds", "shmooze:guess\n");
      const flags = (creds?: string) => [
        "--cluster",
        nats.url,
        "--cluster-name",
        "auth",
        ...(creds === undefined ? [] : ["--cluster-creds", creds]),
      ];
      assert.match(await joins(flags(good)), /^node \S+ of cluster auth at nats:\/\//);
      const refused =
        /^error: Cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: the server refused the credentials \(Authorization Violation\): check --cluster-creds$/;
      assertOneLine(await serve(flags(bad)), 1, refused);
      assertOneLine(await serve(flags()), 1, refused);
      assertOneLine(
        await serve(flags(`${dir}/missing.creds`)),
        1,
        /: cannot read the credentials file \S+missing\.creds: No such file/,
      );
      assertOneLine(
        await serve(flags(dir)),
        1,
        /: cannot read the credentials file \S+: it is not a regular file$/,
      );
      const jwt = await file(dir, "user.creds", "-----BEGIN NATS USER JWT-----\neyJ0\n");
      assertOneLine(await serve(flags(jwt)), 1, /user\.creds is a NATS \.creds \(JWT\) file/);

      // status --cluster takes the same flags, and is refused the same way without them.
      await using status = spawn(["main.ts", "status", ...flags(bad)]);
      await status.closeStdin();
      assertOneLine(await status.done, 1, refused);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a node with the right token joins; a wrong token gets one line, exit 1",
  ignore: !natsAvailable(),
  async fn() {
    const token = crypto.getRandomValues(new Uint32Array(4)).join("");
    await using nats = await startNats(10_000, {
      config: `authorization {\n  token: "${token}"\n}\n`,
    });
    const dir = await Deno.makeTempDir({ prefix: "shmooze-creds-" });
    try {
      const flags = (creds: string) => ["--cluster", nats.url, "--cluster-creds", creds];
      assert.match(await joins(flags(await file(dir, "token", `${token}\n`))), /^node /);
      assertOneLine(
        await serve(flags(await file(dir, "wrong", "not-the-token\n"))),
        1,
        /the server refused the credentials \(Authorization Violation\)/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "tls:// with the test CA joins; a wrong CA, or a server without TLS, is refused in one line",
  ignore: !natsAvailable(),
  async fn() {
    await using cert = await makeTestCertificate("localhost", ["127.0.0.1"]);
    await using other = await makeTestCertificate("localhost", ["127.0.0.1"]);
    await using nats = await startNats(10_000, {
      config: `tls {\n  cert_file: "${cert.certFile}"\n  key_file: "${cert.keyFile}"\n}\n`,
    });
    const url = `tls://127.0.0.1:${nats.port}`;
    assert.match(
      await joins(["--cluster", url, "--cluster-ca", cert.certFile]),
      new RegExp(`^node \\S+ of cluster shmooze at ${url}$`),
    );
    assertOneLine(
      await serve(["--cluster", url, "--cluster-ca", other.certFile]),
      1,
      /^error: Cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: the server's certificate was refused \(.+\): check --cluster-ca$/,
    );
    assertOneLine(
      await serve(["--cluster", url, "--cluster-ca", cert.keyFile]),
      1,
      /: the CA file \S+key\.pem holds no PEM certificate$/,
    );
    // Without the CA the system's CAs are used, and none of them signed the test certificate.
    assertOneLine(await serve(["--cluster", url]), 1, /certificate was refused/);
    assertOneLine(
      await serve(["--cluster", nats.url, "--cluster-ca", cert.certFile]),
      2,
      /--cluster-ca needs a tls:\/\/ URL, not "nats:/,
    );

    await using plain = await startNats();
    assertOneLine(
      await serve(["--cluster", `tls://127.0.0.1:${plain.port}`]),
      1,
      /the server offers no TLS, and a tls:\/\/ URL requires it$/,
    );
  },
});

Deno.test("serve --cluster at a port where no NATS server answers says so in one line within 5 s", async () => {
  // Something accepts connections there and says nothing, as a wrong port often does.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const started = Date.now();
  try {
    assertOneLine(
      await serve(["--cluster", `nats://127.0.0.1:${listener.addr.port}`]),
      1,
      /: no NATS server answered within 5 s$/,
    );
    assert.ok(Date.now() - started < 15_000);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
