/**
 * TLS in one step: `serve --tls-self-signed` makes a CA and a server certificate in the data
 * directory (checked here with Debian's openssl), reuses them on restart, and
 * `shmooze client --ca <the printed CA>` chats with it; a CA used as a server certificate
 * gets an error that says so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, type ServeProcess, startServe, withServer } from "./_irc.ts";
import { makeTestCertificate } from "./_tls.ts";
import { ensureSelfSigned } from "../src/net/self_signed.ts";

async function openssl(...args: string[]): Promise<{ ok: boolean; out: string }> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { ok: output.success, out: decode(output.stdout) + decode(output.stderr) };
}

function tempDir(): { path: string } & AsyncDisposable {
  const path = Deno.makeTempDirSync({ prefix: "shmooze-self-signed-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** The TLS port and CA file a `serve --tls-self-signed` printed. */
async function selfSignedOf(serve: ServeProcess): Promise<{ tlsPort: number; caFile: string }> {
  const listening = await serve.child.waitForLine(/^listening with TLS on /);
  const line = await serve.child.waitForLine(/^self-signed TLS for /);
  return {
    tlsPort: Number(listening.slice(listening.lastIndexOf(":") + 1)),
    caFile: line.slice(line.indexOf("--ca ") + 5),
  };
}

Deno.test("ensureSelfSigned makes a CA and a server certificate that openssl verifies, in 0600 files", async () => {
  await using dir = tempDir();
  const made = await ensureSelfSigned(dir.path);
  assert.deepEqual(made.names, ["localhost", "127.0.0.1", "::1"]);
  assert.equal(made.caFile, join(dir.path, "tls", "ca.pem"));
  assert.equal(Deno.statSync(join(dir.path, "tls")).mode! & 0o777, 0o700);
  for (const file of ["ca.pem", "ca-key.pem", "cert.pem", "key.pem"]) {
    assert.equal(Deno.statSync(join(dir.path, "tls", file)).mode! & 0o777, 0o600, file);
  }
  const verify = await openssl(
    "verify",
    "-x509_strict",
    "-purpose",
    "sslserver",
    "-CAfile",
    made.caFile,
    made.certFile,
  );
  assert.ok(verify.ok, verify.out);
  assert.match(verify.out, /cert\.pem: OK/);

  const leaf = (await openssl("x509", "-in", made.certFile, "-noout", "-text")).out;
  assert.match(leaf, /Version: 3/);
  assert.match(leaf, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(leaf, /NIST CURVE: P-256/);
  assert.match(leaf, /Basic Constraints: critical\s+CA:FALSE/);
  assert.match(leaf, /Key Usage: critical\s+Digital Signature/);
  assert.match(leaf, /Extended Key Usage:\s+TLS Web Server Authentication/);
  assert.match(
    leaf,
    /Subject Alternative Name:\s+DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/,
  );
  const ca = (await openssl("x509", "-in", made.caFile, "-noout", "-text")).out;
  assert.match(ca, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(ca, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  const key = await openssl("pkey", "-in", made.keyFile, "-noout", "-check");
  assert.ok(key.ok, key.out);
});

Deno.test("ensureSelfSigned keeps its CA: the same certificate on restart, a new one from the same CA for new names or near its end", async () => {
  await using dir = tempDir();
  const first = await ensureSelfSigned(dir.path);
  const ca = Deno.readTextFileSync(first.caFile);
  const again = await ensureSelfSigned(dir.path);
  assert.ok(!again.newCa && !again.newCert);
  assert.equal(again.cert, first.cert);

  const renamed = await ensureSelfSigned(dir.path, { names: ["chat.example.org", "192.0.2.7"] });
  assert.ok(!renamed.newCa && renamed.newCert);
  assert.equal(Deno.readTextFileSync(renamed.caFile), ca);
  assert.ok((await openssl("verify", "-CAfile", renamed.caFile, renamed.certFile)).ok);

  const later = new Date(Date.now() + 800 * 86_400_000);
  const renewed = await ensureSelfSigned(dir.path, {
    names: ["chat.example.org", "192.0.2.7"],
    now: later,
  });
  assert.ok(!renewed.newCa && renewed.newCert, "a certificate with 25 days left was kept");
  assert.equal(Deno.readTextFileSync(renewed.caFile), ca);
});

Deno.test("ensureSelfSigned will not overwrite a CA file it cannot read, and refuses a name that is no host", async () => {
  await using dir = tempDir();
  const first = await ensureSelfSigned(dir.path);
  Deno.writeTextFileSync(
    first.caFile,
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  );
  await assert.rejects(
    () => ensureSelfSigned(dir.path),
    /Cannot reuse ".*ca\.pem": Cannot read the certificate: it is malformed .*; remove it to make a new one/,
  );
  await assert.rejects(
    () => ensureSelfSigned(dir.path, { names: ["bad name!"] }),
    /Cannot make a certificate for "bad name!": not a host name or an IP address/,
  );
});

Deno.test("serve --tls-self-signed: shmooze client --tls --ca with the printed CA chats, and Deno's TLS trusts it on every default name", async () => {
  await using serve = await startServe({
    args: ["--host", "::", "--tls-self-signed", "--tls-port", "0"],
  });
  const { tlsPort, caFile } = await selfSignedOf(serve);
  assert.equal(caFile, join(serve.dataDir, "tls", "ca.pem"));
  const ca = Deno.readTextFileSync(caFile);
  for (const hostname of ["127.0.0.1", "::1", "localhost"]) {
    await using client = await IrcTestClient.connectTls(tlsPort, ca, hostname);
    await client.register(`u${hostname.replace(/\W/g, "")}`);
  }
  await using ann = await IrcTestClient.connectTls(tlsPort, ca, "localhost");
  await ann.register("ann");
  await ann.join("#lobby");
  await using bob = spawn([
    "main.ts",
    "client",
    "--tls",
    "--ca",
    caFile,
    "--host",
    "localhost",
    "--port",
    String(tlsPort),
    "--nick",
    "bob",
  ]);
  await bob.waitForLine("joined #lobby");
  await bob.writeLine("hello over a self-signed CA");
  const message = await ann.waitFor("PRIVMSG");
  assert.equal(message.params[1], "hello over a self-signed CA");
  await bob.closeStdin();
  assert.equal((await bob.done).code, 0);
});

Deno.test("serve --tls-self-signed reuses its CA after a restart: a client that trusted it still connects", async () => {
  await using dir = tempDir();
  const args = ["--tls-self-signed", "--tls-port", "0"];
  let firstCa: string;
  {
    await using first = await startServe({ dataDir: dir.path, args });
    firstCa = Deno.readTextFileSync((await selfSignedOf(first)).caFile);
  }
  await using second = await startServe({ dataDir: dir.path, args });
  const { tlsPort, caFile } = await selfSignedOf(second);
  assert.equal(Deno.readTextFileSync(caFile), firstCa);
  await using client = await IrcTestClient.connectTls(tlsPort, firstCa);
  await client.register("ann");
});

Deno.test("serve refuses --tls-name without --tls-self-signed, a bad name, --tls-self-signed with --tls-cert, and a data directory that is a file", async () => {
  const cases: [string[], RegExp][] = [
    [["--tls-name", "localhost"], /--tls-name needs --tls-self-signed/],
    [["--tls-self-signed", "--tls-name", "no such!"], /--tls-name "no such!" is not a host name/],
    [["--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"], /cannot be used with/],
  ];
  for (const [args, message] of cases) {
    const result = await spawn(["main.ts", "serve", "--port", "0", "--no-http", ...args]).done;
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.ok(!/^\s+at /m.test(result.stderr), result.stderr);
  }
  // A file where the data directory should be: one line, exit 1.
  await using dir = tempDir();
  const notADirectory = join(dir.path, "file");
  Deno.writeTextFileSync(notADirectory, "");
  const result = await spawn([
    "main.ts",
    "serve",
    "--port",
    "0",
    "--no-http",
    "--no-status",
    "--tls-self-signed",
    "--data",
    notADirectory,
  ]).done;
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: --tls-self-signed: Cannot create the TLS directory ".*file\/tls": /,
  );
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
});

Deno.test("A CA certificate as the server's own: serve warns, and shmooze client --ca says what is wrong and what to do", async () => {
  await using cert = await makeTestCertificate("localhost", ["127.0.0.1"], { ca: true });
  {
    await using serve = await startServe({
      dataDir: join(cert.dir, "data"),
      args: ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--tls-port", "0"],
    });
    await serve.child.waitForLine(/^listening with TLS on /);
    await serve[Symbol.asyncDispose]();
    const { stderr } = await serve.child.done;
    assert.match(
      stderr,
      /warning: --tls-cert ".*cert\.pem" is a CA certificate \(basicConstraints CA:TRUE/,
    );
  }
  await withServer({ tls: { cert: cert.cert, key: cert.key, port: 0 } }, async (server) => {
    const bob = spawn([
      "main.ts",
      "client",
      "--ca",
      cert.certFile,
      "--port",
      String(server.tlsPort),
      "--nick",
      "bob",
    ]);
    const { code, stderr } = await bob.done;
    assert.equal(code, 1);
    assert.match(
      stderr,
      /the server's TLS certificate is a CA certificate \(basicConstraints CA:TRUE.*\(invalid peer certificate: .*CaUsedAsEndEntity.*\)\); on the server, run shmooze serve --tls-self-signed and pass the CA file it prints with --ca, or make a certificate that is no CA: openssl req -x509 .*basicConstraints=critical,CA:FALSE/,
    );
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  });
});
